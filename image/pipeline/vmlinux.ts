/**
 * The kernel as QEMU boots it fastest: the uncompressed ELF `vmlinux` taken
 * out of Debian's bzImage, entered through its PVH entry point (Xen ELF
 * note XEN_ELFNOTE_PHYS32_ENTRY). QEMU then loads the ELF itself and skips
 * both the firmware's bzImage path and the kernel's own decompressor: under
 * TCG the xz decompression of Debian's kernel alone takes ~3 s before the
 * first console line. The bytes are Debian's kernel, only decompressed.
 * @module
 */
import { ElfFile } from "./elf.ts";
import { run } from "./exec.ts";

/** Where the compressed kernel sits in a bzImage, and how it is packed. */
export interface BzImagePayload {
  /** Byte offset of the payload in the file. */
  offset: number;
  /** Payload length in bytes (the compressed stream and its size trailer). */
  length: number;
  /** The compression, from the payload's magic bytes. */
  compression: "xz" | "gzip" | "zstd";
  /** The uncompressed size the trailer announces. */
  uncompressedSize: number;
}

/** ELF note type of the PVH 32-bit entry point (Xen's elfnote.h). */
const XEN_ELFNOTE_PHYS32_ENTRY = 18;
const SHT_NOTE = 7;

/** Finds the compressed kernel in a bzImage (boot protocol 2.08 or later). */
export function bzImagePayload(image: Uint8Array): BzImagePayload {
  const v = new DataView(image.buffer, image.byteOffset, image.byteLength);
  if (image.length < 0x260) {
    throw new Error(`not a bzImage: only ${image.length} bytes`);
  }
  const magic = new TextDecoder().decode(image.subarray(0x202, 0x206));
  if (magic !== "HdrS") {
    throw new Error(
      `not a bzImage: no "HdrS" at 0x202 (got ${JSON.stringify(magic)})`,
    );
  }
  const protocol = v.getUint16(0x206, true);
  if (protocol < 0x208) {
    throw new Error(
      `bzImage boot protocol ${(protocol >> 8)}.${
        protocol & 0xff
      } has no payload fields (want 2.08+)`,
    );
  }
  const setupSects = image[0x1f1] || 4;
  const offset = (setupSects + 1) * 512 + v.getUint32(0x248, true);
  const length = v.getUint32(0x24c, true);
  if (length < 8 || offset + length > image.length) {
    throw new Error(
      `bzImage payload at ${offset} (+${length}) lies outside the ${image.length}-byte file`,
    );
  }
  const head = image.subarray(offset, offset + 6);
  const is = (...b: number[]) => b.every((x, i) => head[i] === x);
  const compression = is(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)
    ? "xz"
    : is(0x1f, 0x8b)
    ? "gzip"
    : is(0x28, 0xb5, 0x2f, 0xfd)
    ? "zstd"
    : undefined;
  if (compression === undefined) {
    throw new Error(
      `bzImage payload compression not supported (magic ${
        [...head].map((b) => b.toString(16).padStart(2, "0")).join(" ")
      }; xz, gzip and zstd are)`,
    );
  }
  return {
    offset,
    length,
    compression,
    uncompressedSize: v.getUint32(offset + length - 4, true),
  };
}

/** Whether the ELF file at `path` has a PVH entry point note. */
export function hasPvhEntry(path: string): boolean {
  using elf = ElfFile.open(path);
  for (const s of elf.sections) {
    if (s.type !== SHT_NOTE) continue;
    const b = elf.section(s.name);
    if (b === undefined) continue;
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    for (let o = 0; o + 12 <= b.length;) {
      const nameSize = v.getUint32(o, true);
      const descSize = v.getUint32(o + 4, true);
      const type = v.getUint32(o + 8, true);
      const name = new TextDecoder().decode(
        b.subarray(o + 12, o + 12 + Math.max(0, nameSize - 1)),
      );
      if (name === "Xen" && type === XEN_ELFNOTE_PHYS32_ENTRY) return true;
      o += 12 + align4(nameSize) + align4(descSize);
    }
  }
  return false;
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

/**
 * Writes the uncompressed kernel of the bzImage `vmlinuz` to `out` and
 * checks it: an ELF file of the size the bzImage announces, with a PVH
 * entry point. Throws, writing nothing, when any of that fails.
 */
export async function extractVmlinux(
  vmlinuz: string,
  out: string,
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  const image = await Deno.readFile(vmlinuz);
  const p = bzImagePayload(image);
  // The last four bytes are the size trailer, not part of the stream.
  const stream = image.subarray(p.offset, p.offset + p.length - 4);
  const tool = { xz: "xz", gzip: "gzip", zstd: "zstd" }[p.compression];
  let kernel: Uint8Array;
  try {
    kernel = await run(
      tool,
      p.compression === "xz" ? ["-dc", "--single-stream"] : ["-dc"],
      { stdin: stream, signal: options.signal },
    );
  } catch (cause) {
    throw new Error(
      `Cannot decompress the ${p.compression} kernel in ${
        JSON.stringify(vmlinuz)
      }`,
      { cause },
    );
  }
  if (kernel.length !== p.uncompressedSize) {
    throw new Error(
      `The kernel in ${
        JSON.stringify(vmlinuz)
      } decompressed to ${kernel.length} bytes, the bzImage says ${p.uncompressedSize}`,
    );
  }
  const tmp = `${out}.tmp`;
  await Deno.writeFile(tmp, kernel);
  try {
    if (!hasPvhEntry(tmp)) {
      throw new Error(
        `The kernel in ${
          JSON.stringify(vmlinuz)
        } has no PVH entry point (CONFIG_PVH): QEMU cannot boot its vmlinux directly`,
      );
    }
    await Deno.rename(tmp, out);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
}
