import { cpioArchive, type CpioEntry, readCpio } from "./cpio.ts";
import {
  assert,
  assertEquals,
  assertIncludes,
  assertThrows,
  tempDir,
} from "../../lib/testing/mod.ts";

const enc = new TextEncoder();

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

const ENTRIES: CpioEntry[] = [
  { path: "usr/bin/tool", type: "file", mode: 0o755, data: enc.encode("abc") },
  { path: "dev/console", type: "char", mode: 0o600, major: 5, minor: 1 },
  { path: "lib", type: "symlink", target: "usr/lib" },
  { path: "init.js", type: "file", mode: 0o644, data: enc.encode("x") },
];

Deno.test("cpioArchive() writes a sorted, reproducible newc archive", async (t) => {
  const bytes = concat(cpioArchive(ENTRIES));

  await t.step("parents are added and entries sorted", () => {
    const back = readCpio(bytes);
    assertEquals(back.map((e) => e.path), [
      "dev",
      "dev/console",
      "init.js",
      "lib",
      "usr",
      "usr/bin",
      "usr/bin/tool",
    ]);
    const tool = back.find((e) => e.path === "usr/bin/tool");
    assert(tool?.type === "file");
    assertEquals(new TextDecoder().decode(tool.data), "abc");
    assertEquals(tool.mode, 0o755);
    assertEquals(back.find((e) => e.path === "dev/console"), {
      path: "dev/console",
      type: "char",
      mode: 0o600,
      major: 5,
      minor: 1,
    });
  });

  await t.step("input order does not change the bytes", () => {
    const again = concat(cpioArchive([...ENTRIES].reverse()));
    assertEquals(again, bytes);
  });

  await t.step("GNU cpio reads it, with uid 0 and mtime 0", async () => {
    const cpio = new Deno.Command("cpio", {
      args: ["-t", "-v", "--quiet"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { TZ: "UTC", LC_ALL: "C" },
    }).spawn();
    const w = cpio.stdin.getWriter();
    await w.write(bytes);
    await w.close();
    const out = await cpio.output();
    assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
    const listing = new TextDecoder().decode(out.stdout);
    assertIncludes(
      listing,
      "crw-------   1 root     root       5,   1 Jan  1  1970 dev/console",
    );
    assertIncludes(listing, "lib -> usr/lib");
  });

  await t.step("GNU cpio extracts it", async () => {
    await using dir = await tempDir();
    const cpio = new Deno.Command("cpio", {
      args: [
        "-i",
        "-d",
        "--quiet",
        "--no-absolute-filenames",
        "--nonmatching",
        "dev/*",
      ],
      cwd: dir.path,
      stdin: "piped",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const w = cpio.stdin.getWriter();
    await w.write(bytes);
    await w.close();
    const out = await cpio.output();
    assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
    assertEquals(await Deno.readTextFile(`${dir.path}/usr/bin/tool`), "abc");
    assertEquals(await Deno.readLink(`${dir.path}/lib`), "usr/lib");
  });
});

Deno.test("cpioArchive() refuses bad paths and conflicts", () => {
  const msg = (f: () => unknown) => String((assertThrows(f) as Error).message);
  assertIncludes(
    msg(() => cpioArchive([{ path: "/abs", type: "dir", mode: 0o755 }])),
    '"/abs"',
  );
  assertIncludes(
    msg(() => cpioArchive([{ path: "a/../b", type: "dir", mode: 0o755 }])),
    '"a/../b"',
  );
  assertIncludes(
    msg(() =>
      cpioArchive([
        { path: "a", type: "dir", mode: 0o755 },
        { path: "a", type: "dir", mode: 0o700 },
      ])
    ),
    "Duplicate",
  );
  assertIncludes(
    msg(() =>
      cpioArchive([
        { path: "a", type: "symlink", target: "b" },
        { path: "a/x", type: "dir", mode: 0o755 },
      ])
    ),
    "not a directory",
  );
  assertIncludes(
    msg(() => cpioArchive([{ path: "a", type: "dir", mode: 0o40755 }])),
    "Invalid mode",
  );
});
