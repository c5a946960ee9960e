import { Libc } from "./libc.ts";
import { SyscallError } from "./errno.ts";
import {
  assert,
  assertEquals,
  assertIncludes,
  assertRejects,
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

Deno.test("Libc.readSome() reads a non-blocking descriptor and says when it would wait", async () => {
  using libc = Libc.open();
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/f`, "abc");
  const fd = libc.openReadOnly(`${dir.path}/f`, { nonBlocking: true });
  try {
    const buf = new Uint8Array(16);
    assertEquals(libc.readSome(fd, buf), 3);
    assertEquals(new TextDecoder().decode(buf.subarray(0, 3)), "abc");
    assertEquals(libc.readSome(fd, buf), 0, "end of file");
  } finally {
    libc.close(fd);
  }
  // /dev/kmsg with nothing new to read: "again", not a blocked thread.
  let kmsg: number | undefined;
  try {
    kmsg = libc.openReadOnly("/dev/kmsg", { nonBlocking: true });
  } catch {
    return; // no /dev/kmsg here (not root): the file case above is enough
  }
  try {
    const buf = new Uint8Array(16 * 1024);
    let r: number | "again" = 0;
    for (let i = 0; i < 1_000_000 && r !== "again"; i++) {
      try {
        r = libc.readSome(kmsg, buf);
      } catch (err) {
        if (!(err instanceof SyscallError && err.errno === 32)) throw err;
      }
    }
    assertEquals(r, "again");
  } finally {
    libc.close(kmsg);
  }
});

Deno.test("Libc.mallocTrim() gives freed C-heap memory back", () => {
  using libc = Libc.open();
  const c = Deno.dlopen("libc.so.6", {
    malloc: { parameters: ["usize"], result: "pointer" },
    free: { parameters: ["pointer"], result: "void" },
  });
  const rssKiB = () =>
    Number(
      /^Rss:\s+(\d+)/m.exec(Deno.readTextFileSync("/proc/self/smaps_rollup"))
        ?.[1],
    );
  try {
    // 32 MiB in 16 KiB blocks, each written so it is resident; all but the
    // last freed: the free space sits below the heap's top, where only
    // malloc_trim can return it.
    const blocks: Deno.PointerValue[] = [];
    for (let i = 0; i < 2048; i++) {
      const p = c.symbols.malloc(16384n);
      assert(p !== null);
      const view = new Uint8Array(
        Deno.UnsafePointerView.getArrayBuffer(p, 16384),
      );
      view.fill(1);
      blocks.push(p);
    }
    for (const p of blocks.slice(0, -1)) c.symbols.free(p);
    const before = rssKiB();
    assert(libc.mallocTrim(), "something was released");
    const after = rssKiB();
    assert(before - after > 16 * 1024, `RSS ${before} -> ${after} KiB`);
    c.symbols.free(blocks[blocks.length - 1]);
  } finally {
    c.close();
  }
});

Deno.test("Libc.finitModuleAsync() loads off the JS thread and names the errno of a refusal", async () => {
  using libc = Libc.open();
  await using dir = await tempDir();
  // Not a module: finit_module refuses it (ENOEXEC; EPERM unprivileged;
  // ENOSYS in a sandbox without module loading).
  // The errno is the kernel's, though the call ran on another thread.
  await Deno.writeTextFile(`${dir.path}/a.ko`, "not an ELF module");
  const err = await assertRejects(() =>
    libc.finitModuleAsync(`${dir.path}/a.ko`)
  );
  assert(err instanceof SyscallError, String(err));
  assert(["ENOEXEC", "EPERM", "ENOSYS"].includes(err.code), err.message);
  assertIncludes(err.message, `Cannot load module "${dir.path}/a.ko"`);
  const missing = await assertRejects(() =>
    libc.finitModuleAsync(`${dir.path}/missing.ko`)
  );
  // A failure the caller explains (the module is in by now) is none.
  let asked = 0;
  await libc.finitModuleAsync(`${dir.path}/a.ko`, {
    alreadyIn: () => ++asked > 0,
  });
  assertEquals(asked, 1);
  assert(missing instanceof SyscallError, String(missing));
  assertEquals(missing.code, "ENOENT");
});
