/**
 * A minimal tar (POSIX ustar, with pax headers for long names) writer for
 * Copy: directories, regular files and symlinks, as bytes blocks the caller
 * gzips and streams.
 * @module
 */

/** What a tar entry is. */
export type TarEntryType = "file" | "dir" | "symlink";

/** One tar entry's header fields. */
export interface TarHeader {
  /** Name inside the archive (relative; a directory's ends with "/"). */
  name: string;
  /** Entry type. */
  type: TarEntryType;
  /** Permission bits. */
  mode: number;
  /** Owner. */
  uid: number;
  /** Group. */
  gid: number;
  /** Size of the data that follows (files only). */
  size: number;
  /** Modification time, seconds since the epoch. */
  mtime: number;
  /** A symlink's target. */
  linkname?: string;
}

/** Tar's block size. */
export const BLOCK = 512;
const encoder = new TextEncoder();

function putString(
  block: Uint8Array,
  offset: number,
  size: number,
  s: Uint8Array,
): void {
  block.set(s.subarray(0, size), offset);
}

function putOctal(
  block: Uint8Array,
  offset: number,
  size: number,
  n: number,
): void {
  // size-1 octal digits, then NUL; a value that does not fit is clamped.
  const max = 8 ** (size - 1) - 1;
  const text = Math.min(Math.max(0, Math.floor(n)), max).toString(8)
    .padStart(size - 1, "0");
  block.set(encoder.encode(text), offset);
  block[offset + size - 1] = 0;
}

const TYPE_FLAG: Readonly<Record<TarEntryType | "pax", string>> = {
  file: "0",
  symlink: "2",
  dir: "5",
  pax: "x",
};

function ustarBlock(
  h: Omit<TarHeader, "type"> & { type: TarEntryType | "pax" },
  name: Uint8Array,
  link: Uint8Array,
): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(BLOCK);
  // A name up to 255 bytes splits into prefix (155) + name (100) at a "/".
  let prefix: Uint8Array = new Uint8Array(0);
  let rest = name;
  if (name.length > 100) {
    for (let i = Math.min(name.length - 1, 155); i > 0; i--) {
      if (name[i] === 0x2f && name.length - i - 1 <= 100) {
        prefix = name.subarray(0, i);
        rest = name.subarray(i + 1);
        break;
      }
    }
  }
  putString(b, 0, 100, rest);
  putOctal(b, 100, 8, h.mode & 0o7777);
  putOctal(b, 108, 8, h.uid);
  putOctal(b, 116, 8, h.gid);
  putOctal(b, 124, 12, h.size);
  putOctal(b, 136, 12, h.mtime);
  b.fill(0x20, 148, 156);
  b[156] = TYPE_FLAG[h.type].charCodeAt(0);
  putString(b, 157, 100, link);
  b.set(encoder.encode("ustar\0"), 257);
  b.set(encoder.encode("00"), 263);
  putString(b, 345, 155, prefix);
  let sum = 0;
  for (const x of b) sum += x;
  const chk = sum.toString(8).padStart(6, "0");
  b.set(encoder.encode(chk), 148);
  b[154] = 0;
  b[155] = 0x20;
  return b;
}

/** One pax record: "<len> <key>=<value>\n", its length counting itself. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyLen = encoder.encode(body).length;
  let digits = 1;
  while (String(bodyLen + digits).length !== digits) digits++;
  return `${bodyLen + digits}${body}`;
}

/** Zero bytes that pad `size` bytes of data to a whole block. */
export function padding(size: number): Uint8Array<ArrayBuffer> {
  const rem = size % BLOCK;
  return new Uint8Array(rem === 0 ? 0 : BLOCK - rem);
}

/**
 * The header blocks of one entry: a pax header first when the name does
 * not fit ustar's 255 bytes or the link target its 100.
 */
export function headerBlocks(h: TarHeader): Uint8Array<ArrayBuffer>[] {
  const name = encoder.encode(h.name);
  const link = encoder.encode(h.linkname ?? "");
  const out: Uint8Array<ArrayBuffer>[] = [];
  const fits = (name.length <= 100 || canSplit(name)) && link.length <= 100;
  if (!fits) {
    let records = paxRecord("path", h.name);
    if (h.linkname !== undefined) records += paxRecord("linkpath", h.linkname);
    const data = encoder.encode(records);
    out.push(
      ustarBlock(
        { ...h, type: "pax", size: data.length, mode: 0o644 },
        encoder.encode("PaxHeader"),
        new Uint8Array(0),
      ),
      data,
      padding(data.length),
    );
  }
  out.push(ustarBlock(
    { ...h, size: h.type === "file" ? h.size : 0 },
    fits ? name : name.subarray(0, 100),
    fits ? link : link.subarray(0, 100),
  ));
  return out;
}

function canSplit(name: Uint8Array): boolean {
  if (name.length > 256) return false;
  for (let i = Math.min(name.length - 1, 155); i > 0; i--) {
    if (name[i] === 0x2f && name.length - i - 1 <= 100) return true;
  }
  return false;
}

/** The end of an archive: two zero blocks. */
export function endBlocks(): Uint8Array<ArrayBuffer> {
  return new Uint8Array(2 * BLOCK);
}
