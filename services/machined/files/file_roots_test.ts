import { ApiError } from "../../../lib/api_error/mod.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  assertThrows,
  tempDir,
} from "../../../lib/testing/mod.ts";
import { FileRoots, isUnder, normalizePath } from "./file_roots.ts";

async function statusOf(p: Promise<unknown>): Promise<string> {
  const err = await assertRejects(() => p, ApiError);
  return `${err.status}: ${err.message}`;
}

Deno.test("normalizePath() refuses malformed paths, naming them", async (t) => {
  const refused: [string, string, string][] = [
    ["empty", "", "path is empty"],
    ["relative", "etc/passwd", 'path "etc/passwd" is not absolute'],
    ["dot relative", "./state", 'path "./state" is not absolute'],
    [
      "dot-dot",
      "/proc/../etc/passwd",
      'path "/proc/../etc/passwd" contains ".."',
    ],
    ["trailing dot-dot", "/state/..", 'path "/state/.." contains ".."'],
    ["NUL", "/proc/a\0b", "contains a NUL byte"],
    ["too long", "/" + "a".repeat(5000), "is longer than 4096"],
  ];
  for (const [name, path, want] of refused) {
    await t.step(name, () => {
      const err = assertThrows(() => normalizePath(path), ApiError, want);
      assertEquals(err.status, "InvalidArgument");
    });
  }
  await t.step("'.', '//' and a trailing '/' are dropped", () => {
    assertEquals(normalizePath("//proc/./sys//kernel/"), "/proc/sys/kernel");
    assertEquals(normalizePath("/"), "/");
    // "..." is a name, not a parent.
    assertEquals(normalizePath("/a/.../b"), "/a/.../b");
  });
});

Deno.test("isUnder() compares whole segments", () => {
  assert(isUnder("/a/b", "/a"));
  assert(isUnder("/a", "/a"));
  assert(!isUnder("/ab", "/a"));
  assert(!isUnder("/a", "/a/b"));
});

Deno.test("FileRoots.check() keeps every path inside its root", async (t) => {
  await using dir = await tempDir();
  const base = await Deno.realPath(dir.path);
  const state = `${base}/state`;
  const outside = `${base}/outside`;
  await Deno.mkdir(`${state}/sub`, { recursive: true });
  await Deno.mkdir(outside);
  await Deno.mkdir(`${base}/state2`);
  await Deno.writeTextFile(`${state}/sub/file`, "inside");
  await Deno.writeTextFile(`${outside}/secret`, "outside");
  await Deno.writeTextFile(`${base}/state2/file`, "neighbour");
  await Deno.symlink(`${outside}/secret`, `${state}/to-secret`);
  await Deno.symlink(outside, `${state}/to-outside-dir`);
  await Deno.symlink("sub/file", `${state}/to-inside`);
  await Deno.symlink("../outside/secret", `${state}/relative-escape`);
  const roots = new FileRoots([state, "/proc", "/sys"]);

  await t.step("a file and a folder in the root", async () => {
    const f = await roots.check(`${state}/sub/file`);
    assertEquals(f, { path: `${state}/sub/file`, root: state, real: f.real });
    assertEquals(f.real, `${state}/sub/file`);
    assertEquals((await roots.check(state)).real, state);
  });
  await t.step("a symlink that stays inside is followed", async () => {
    assertEquals(
      (await roots.check(`${state}/to-inside`)).real,
      `${state}/sub/file`,
    );
  });
  await t.step("an absolute path outside every root", async () => {
    assertEquals(
      await statusOf(roots.check("/etc/passwd")),
      `PermissionDenied: path "/etc/passwd" is outside the allowed roots (/proc, /sys, ${state})`,
    );
  });
  await t.step("a neighbour whose name starts like the root", async () => {
    assert(
      (await statusOf(roots.check(`${base}/state2/file`))).startsWith(
        `PermissionDenied: path "${base}/state2/file" is outside`,
      ),
    );
  });
  await t.step("'..' is refused before anything is resolved", async () => {
    assertEquals(
      await statusOf(roots.check(`${state}/../outside/secret`)),
      `InvalidArgument: path "${state}/../outside/secret" contains "..": name the file directly`,
    );
  });
  await t.step("a symlink to a file outside", async () => {
    assertEquals(
      await statusOf(roots.check(`${state}/to-secret`)),
      `PermissionDenied: path "${state}/to-secret" leads outside its root "${state}" (to "${outside}/secret")`,
    );
  });
  await t.step("a relative symlink that climbs out", async () => {
    assertEquals(
      await statusOf(roots.check(`${state}/relative-escape`)),
      `PermissionDenied: path "${state}/relative-escape" leads outside its root "${state}" (to "${outside}/secret")`,
    );
  });
  await t.step("a path through a symlinked folder outside", async () => {
    assertEquals(
      await statusOf(roots.check(`${state}/to-outside-dir/secret`)),
      `PermissionDenied: path "${state}/to-outside-dir/secret" leads outside its root "${state}" (to "${outside}/secret")`,
    );
  });
  await t.step("a path that does not exist", async () => {
    assertEquals(
      await statusOf(roots.check(`${state}/nope`)),
      `NotFound: path "${state}/nope" does not exist`,
    );
  });
  await t.step("/proc/sys is readable, /proc/self stays in /proc", async () => {
    const k = await roots.checkReadable("/proc/sys/kernel/kptr_restrict");
    assertEquals(k.root, "/proc");
    const self = await roots.check("/proc/self/status");
    assertEquals(self.real, `/proc/${Deno.pid}/status`);
  });
  await t.step(
    "/proc/self/cwd and /proc/self/root lead out of /proc",
    async () => {
      assertEquals(
        await statusOf(roots.check("/proc/self/cwd")),
        `PermissionDenied: path "/proc/self/cwd" leads outside its root "/proc" (to ${
          JSON.stringify(Deno.cwd())
        })`,
      );
      assert(
        (await statusOf(roots.check("/proc/self/root/etc/passwd"))).startsWith(
          `PermissionDenied: path "/proc/self/root/etc/passwd" leads outside its root "/proc"`,
        ),
      );
    },
  );
  await t.step("/proc/kmsg is refused for Read (it never ends)", async () => {
    assertEquals(
      await statusOf(roots.checkReadable("/proc/kmsg")),
      `InvalidArgument: path "/proc/kmsg" never ends when read: use dmesg or logs`,
    );
  });
  await t.step("/ and relative roots are not roots", () => {
    assertThrows(() => new FileRoots(["/"]), Error, "/ cannot be a root");
    assertThrows(() => new FileRoots(["state"]), ApiError, "is not absolute");
  });
});
