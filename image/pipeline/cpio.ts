/**
 * cpio "newc" archives (the Linux initramfs format), written reproducibly:
 * entries sorted by path, parents first, inode numbers in that order,
 * uid/gid 0, one fixed mtime. Device nodes need no root privileges here.
 * @module
 */

/** One archive member. Paths are relative ("usr/bin/deno"), no leading "/". */
export type CpioEntry =
  | { path: string; type: "dir"; mode: number }
  | { path: string; type: "file"; mode: number; data: Uint8Array }
  | { path: string; type: "symlink"; target: string }
  | {
    path: string;
    type: "char";
    mode: number;
    major: number;
    minor: number;
  };

/** Options for {@linkcode cpioArchive}. */
export interface CpioOptions {
  /** Modification time of every entry (seconds since the epoch); default 0. */
  mtime?: number;
}

const TYPE_BITS = {
  dir: 0o040000,
  file: 0o100000,
  symlink: 0o120000,
  char: 0o020000,
} as const;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const TRAILER = "TRAILER!!!";

/** Checks an archive path: relative, normalised, no "." or ".." parts. */
export function validateArchivePath(path: string): void {
  const parts = path.split("/");
  if (
    path === "" || path.startsWith("/") ||
    parts.some((p) => p === "" || p === "." || p === "..")
  ) {
    throw new Error(
      `Invalid archive path ${
        JSON.stringify(path)
      }: must be relative and normalised`,
    );
  }
}

/**
 * Sorts entries, adds missing parent directories (mode 0755) and refuses
 * duplicates. The result is what {@linkcode cpioArchive} writes.
 */
export function normalizeEntries(entries: readonly CpioEntry[]): CpioEntry[] {
  const byPath = new Map<string, CpioEntry>();
  for (const e of entries) {
    validateArchivePath(e.path);
    if (byPath.has(e.path)) {
      throw new Error(`Duplicate archive path ${JSON.stringify(e.path)}`);
    }
    byPath.set(e.path, e);
  }
  for (const e of entries) {
    const parts = e.path.split("/");
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join("/");
      const existing = byPath.get(parent);
      if (existing === undefined) {
        byPath.set(parent, { path: parent, type: "dir", mode: 0o755 });
      } else if (existing.type !== "dir") {
        throw new Error(
          `Archive path ${JSON.stringify(e.path)} is under ${
            JSON.stringify(parent)
          }, which is not a directory`,
        );
      }
    }
  }
  // Byte order of the UTF-8 paths: stable across locales and runtimes.
  return [...byPath.values()].sort((a, b) => compareBytes(a.path, b.path));
}

function compareBytes(a: string, b: string): number {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i] - y[i];
  }
  return x.length - y.length;
}

function hex8(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new Error(`cpio field out of range: ${n}`);
  }
  return n.toString(16).padStart(8, "0");
}

function header(
  fields: {
    ino: number;
    mode: number;
    nlink: number;
    mtime: number;
    size: number;
    rmajor: number;
    rminor: number;
  },
  name: string,
): Uint8Array {
  const nameBytes = encoder.encode(name);
  const text = "070701" + hex8(fields.ino) + hex8(fields.mode) + hex8(0) +
    hex8(0) + hex8(fields.nlink) + hex8(fields.mtime) + hex8(fields.size) +
    hex8(0) + hex8(0) + hex8(fields.rmajor) + hex8(fields.rminor) +
    hex8(nameBytes.length + 1) + hex8(0);
  const headLen = 110 + nameBytes.length + 1;
  const out = new Uint8Array(pad4(headLen));
  out.set(encoder.encode(text));
  out.set(nameBytes, 110);
  return out;
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}

/**
 * The archive as a list of byte chunks (headers, data, padding), so large
 * files are not copied. Concatenated, they are the cpio file.
 */
export function cpioArchive(
  entries: readonly CpioEntry[],
  options: CpioOptions = {},
): Uint8Array[] {
  const mtime = options.mtime ?? 0;
  const chunks: Uint8Array[] = [];
  let ino = 0;
  for (const e of normalizeEntries(entries)) {
    ino++;
    let data: Uint8Array = new Uint8Array(0);
    let mode: number;
    let rmajor = 0;
    let rminor = 0;
    switch (e.type) {
      case "dir":
        mode = e.mode;
        break;
      case "file":
        mode = e.mode;
        data = e.data;
        break;
      case "symlink":
        mode = 0o777;
        data = encoder.encode(e.target);
        break;
      case "char":
        mode = e.mode;
        rmajor = e.major;
        rminor = e.minor;
        break;
    }
    if ((mode & ~0o7777) !== 0) {
      throw new Error(
        `Invalid mode 0o${mode.toString(8)} for ${JSON.stringify(e.path)}`,
      );
    }
    chunks.push(header({
      ino,
      mode: TYPE_BITS[e.type] | mode,
      nlink: e.type === "dir" ? 2 : 1,
      mtime,
      size: data.length,
      rmajor,
      rminor,
    }, e.path));
    if (data.length > 0) {
      chunks.push(data);
      const pad = pad4(data.length) - data.length;
      if (pad > 0) chunks.push(new Uint8Array(pad));
    }
  }
  chunks.push(header({
    ino: 0,
    mode: 0,
    nlink: 1,
    mtime: 0,
    size: 0,
    rmajor: 0,
    rminor: 0,
  }, TRAILER));
  return chunks;
}

/** Reads a newc archive back into entries (for checks and tests). */
export function readCpio(bytes: Uint8Array): CpioEntry[] {
  const out: CpioEntry[] = [];
  let off = 0;
  while (off + 110 <= bytes.length) {
    const magic = decoder.decode(bytes.subarray(off, off + 6));
    if (magic !== "070701") {
      throw new Error(`Bad cpio magic ${JSON.stringify(magic)} at ${off}`);
    }
    const at = off;
    const field = (i: number): number =>
      parseInt(
        decoder.decode(bytes.subarray(at + 6 + i * 8, at + 14 + i * 8)),
        16,
      );
    const mode = field(1);
    const size = field(6);
    const namesize = field(11);
    const name = decoder.decode(
      bytes.subarray(off + 110, off + 110 + namesize - 1),
    );
    const dataStart = off + pad4(110 + namesize);
    const data = bytes.subarray(dataStart, dataStart + size);
    off = dataStart + pad4(size);
    if (name === TRAILER) return out;
    const perm = mode & 0o7777;
    switch (mode & 0o170000) {
      case TYPE_BITS.dir:
        out.push({ path: name, type: "dir", mode: perm });
        break;
      case TYPE_BITS.file:
        out.push({ path: name, type: "file", mode: perm, data });
        break;
      case TYPE_BITS.symlink:
        out.push({ path: name, type: "symlink", target: decoder.decode(data) });
        break;
      case TYPE_BITS.char:
        out.push({
          path: name,
          type: "char",
          mode: perm,
          major: field(9),
          minor: field(10),
        });
        break;
      default:
        throw new Error(
          `Unsupported cpio entry type 0o${mode.toString(8)} for ${
            JSON.stringify(name)
          }`,
        );
    }
  }
  throw new Error("cpio archive has no trailer");
}
