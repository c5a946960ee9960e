import { bzImagePayload, extractVmlinux, hasPvhEntry } from "./vmlinux.ts";
import { run } from "./exec.ts";
import { syntheticElf } from "./_elf_fixtures_test.ts";
import {
  assert,
  assertEquals,
  assertIncludes,
  assertRejects,
  assertThrows,
  tempDir,
} from "../../lib/testing/mod.ts";

function throwsWith(fn: () => unknown, part: string): void {
  assertIncludes((assertThrows(fn) as Error).message, part);
}

async function rejectsWith(
  fn: () => Promise<unknown>,
  part: string,
): Promise<void> {
  assertIncludes((await assertRejects(fn) as Error).message, part);
}

/** One ELF note: namesz, descsz, type, name (NUL, padded), desc (padded). */
function note(name: string, type: number, desc: Uint8Array): Uint8Array {
  const n = new TextEncoder().encode(name + "\0");
  const pad = (x: number) => (x + 3) & ~3;
  const out = new Uint8Array(12 + pad(n.length) + pad(desc.length));
  const v = new DataView(out.buffer);
  v.setUint32(0, n.length, true);
  v.setUint32(4, desc.length, true);
  v.setUint32(8, type, true);
  out.set(n, 12);
  out.set(desc, 12 + pad(n.length));
  return out;
}

/**
 * A kernel ELF whose .notes hold the given notes, with 1 MiB of
 * incompressible .text: more than a pipe holds, in and out of xz.
 */
function kernelElf(...notes: Uint8Array[]): Uint8Array {
  const all = new Uint8Array(notes.reduce((a, n) => a + n.length, 0));
  let o = 0;
  for (const n of notes) {
    all.set(n, o);
    o += n.length;
  }
  const text = new Uint8Array(1 << 20);
  for (let i = 0; i < text.length; i += 65536) {
    crypto.getRandomValues(text.subarray(i, i + 65536));
  }
  return syntheticElf({ ".text": text, ".notes": all }, { ".notes": 7 });
}

/** A bzImage (boot protocol 2.15) carrying `payload` + its size trailer. */
function bzImage(payload: Uint8Array, uncompressed: number): Uint8Array {
  const setupSects = 2;
  const start = (setupSects + 1) * 512;
  const out = new Uint8Array(start + payload.length + 4 + 100);
  const v = new DataView(out.buffer);
  out[0x1f1] = setupSects;
  out.set(new TextEncoder().encode("HdrS"), 0x202);
  v.setUint16(0x206, 0x020f, true);
  v.setUint32(0x248, 0, true);
  v.setUint32(0x24c, payload.length + 4, true);
  out.set(payload, start);
  v.setUint32(start + payload.length, uncompressed, true);
  return out;
}

const PVH = note("Xen", 18, new Uint8Array([0x00, 0x10, 0x00, 0x01]));

Deno.test("extractVmlinux() unpacks the ELF kernel of a bzImage", async (t) => {
  await using dir = await tempDir();
  const elf = kernelElf(note("Linux", 6, new Uint8Array(4)), PVH);
  const xz = await run("xz", ["-c", "--check=crc32"], { stdin: elf });

  await t.step(
    "xz payload with a PVH note: written, byte for byte",
    async () => {
      await Deno.writeFile(`${dir.path}/vmlinuz`, bzImage(xz, elf.length));
      await extractVmlinux(`${dir.path}/vmlinuz`, `${dir.path}/vmlinux`);
      assertEquals(await Deno.readFile(`${dir.path}/vmlinux`), elf);
      assert(hasPvhEntry(`${dir.path}/vmlinux`));
    },
  );

  await t.step("gzip payload", async () => {
    const gz = await run("gzip", ["-c", "-n"], { stdin: elf });
    await Deno.writeFile(`${dir.path}/vmlinuz.gz`, bzImage(gz, elf.length));
    await extractVmlinux(`${dir.path}/vmlinuz.gz`, `${dir.path}/vmlinux.gz`);
    assertEquals(await Deno.readFile(`${dir.path}/vmlinux.gz`), elf);
  });

  await t.step("no PVH note: refused, nothing written", async () => {
    const bare = kernelElf(note("Linux", 6, new Uint8Array(4)));
    const bareXz = await run("xz", ["-c"], { stdin: bare });
    await Deno.writeFile(`${dir.path}/bare`, bzImage(bareXz, bare.length));
    await rejectsWith(
      () => extractVmlinux(`${dir.path}/bare`, `${dir.path}/bare.elf`),
      "no PVH entry point",
    );
    await assertRejects(
      () => Deno.stat(`${dir.path}/bare.elf`),
      Deno.errors.NotFound,
    );
    await assertRejects(
      () => Deno.stat(`${dir.path}/bare.elf.tmp`),
      Deno.errors.NotFound,
    );
  });

  await t.step("a size trailer that disagrees is refused", async () => {
    await Deno.writeFile(`${dir.path}/lying`, bzImage(xz, elf.length + 1));
    await rejectsWith(
      () => extractVmlinux(`${dir.path}/lying`, `${dir.path}/lying.elf`),
      "the bzImage says",
    );
  });

  await t.step("a corrupt stream is refused", async () => {
    const bad = xz.slice();
    bad[bad.length >> 1] ^= 0xff;
    await Deno.writeFile(`${dir.path}/corrupt`, bzImage(bad, elf.length));
    await rejectsWith(
      () => extractVmlinux(`${dir.path}/corrupt`, `${dir.path}/corrupt.elf`),
      "Cannot decompress the xz kernel",
    );
  });
});

Deno.test("bzImagePayload() rejects what is not a bzImage", async (t) => {
  await t.step("too short", () => {
    throwsWith(() => bzImagePayload(new Uint8Array(100)), "only 100 bytes");
  });
  await t.step("no HdrS magic", () => {
    throwsWith(() => bzImagePayload(new Uint8Array(4096)), '"HdrS"');
  });
  await t.step("old boot protocol", () => {
    const b = bzImage(new Uint8Array(16), 16);
    new DataView(b.buffer).setUint16(0x206, 0x0205, true);
    throwsWith(() => bzImagePayload(b), "2.5 has no payload fields");
  });
  await t.step("payload outside the file", () => {
    const b = bzImage(new Uint8Array(16), 16);
    new DataView(b.buffer).setUint32(0x24c, 1 << 20, true);
    throwsWith(() => bzImagePayload(b), "outside the");
  });
  await t.step("unknown compression", () => {
    throwsWith(
      () => bzImagePayload(bzImage(new Uint8Array(16).fill(7), 16)),
      "compression not supported (magic 07 07",
    );
  });
});
