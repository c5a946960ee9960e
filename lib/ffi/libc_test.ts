import { Libc } from "./libc.ts";
import { SyscallError } from "./errno.ts";
import {
  assert,
  assertEquals,
  assertIncludes,
  assertThrows,
  tempDir,
} from "../testing/mod.ts";

Deno.test("Libc reads files and folders Deno's own APIs refuse", async (t) => {
  using libc = Libc.open();
  await using dir = await tempDir();
  await t.step("readFile: whole file, and the size limit", async () => {
    await Deno.writeTextFile(`${dir.path}/a`, "hello\n");
    assertEquals(
      new TextDecoder().decode(libc.readFile(`${dir.path}/a`)),
      "hello\n",
    );
    assertIncludes(
      String(
        assertThrows(() => libc.readFile(`${dir.path}/a`, { maxBytes: 3 })),
      ),
      "longer than 3 bytes",
    );
  });
  await t.step("readFile under /sys", () => {
    const text = new TextDecoder().decode(
      libc.readFile("/sys/kernel/uevent_seqnum"),
    );
    assert(/^\d+\n$/.test(text), text);
  });
  await t.step("readDir: names and types", async () => {
    await Deno.mkdir(`${dir.path}/sub`);
    await Deno.symlink("a", `${dir.path}/link`);
    const ents = libc.readDir(dir.path).sort((x, y) =>
      x.name.localeCompare(y.name)
    );
    assertEquals(ents, [
      { name: "a", type: "file" },
      { name: "link", type: "symlink" },
      { name: "sub", type: "dir" },
    ]);
  });
  await t.step("errors carry errno and quote the path", () => {
    const err = assertThrows(() => libc.readFile(`${dir.path}/missing`));
    assert(err instanceof SyscallError);
    assertEquals(err.code, "ENOENT");
    assertIncludes(err.message, `"${dir.path}/missing"`);
    const err2 = assertThrows(() => libc.readDir(`${dir.path}/a`));
    assert(err2 instanceof SyscallError);
    assertEquals(err2.code, "ENOTDIR");
  });
  await t.step("a missing namespace is refused before switching", () => {
    const err = assertThrows(() =>
      libc.inNetworkNamespace("/run/netns/bronze-no-such-ns", () => 1)
    );
    assertIncludes(String(err), '"/run/netns/bronze-no-such-ns"');
  });
});

Deno.test({
  name: "Libc.sethostname() sets the hostname (in a UTS namespace of its own)",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    const mod = new URL("./mod.ts", import.meta.url).href;
    const code = `import { Libc } from "${mod}";
using libc = Libc.open();
libc.sethostname("bronze-uts-test");
console.log(Deno.hostname());
try { libc.sethostname("x".repeat(65)); } catch (e) { console.log(String(e)); }`;
    const out = await new Deno.Command("unshare", {
      args: ["--uts", Deno.execPath(), "eval", "--ext=ts", code],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert(out.success, new TextDecoder().decode(out.stderr));
    const [name, err] = text.trim().split("\n");
    assertEquals(name, "bronze-uts-test");
    assertIncludes(err, "Cannot set hostname to");
    assertIncludes(err, "EINVAL");
    assert(Deno.hostname() !== "bronze-uts-test");
  },
});
