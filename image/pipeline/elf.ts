/**
 * A small ELF64 little-endian reader: the section table, a kernel module's
 * `.modinfo` fields, and a program's interpreter and DT_NEEDED libraries.
 * Reads only the headers and the sections asked for, not whole files.
 * @module
 */

/** One section header of an ELF file. */
export interface ElfSection {
  /** Section name from the section-name string table. */
  name: string;
  /** sh_type. */
  type: number;
  /** File offset of the section's bytes. */
  offset: number;
  /** Size in bytes. */
  size: number;
  /** sh_link (for .dynamic: index of its string table). */
  link: number;
}

/** A program's dynamic-linking needs. */
export interface ElfDynamic {
  /** PT_INTERP path, e.g. /lib64/ld-linux-x86-64.so.2 (absent if static). */
  interpreter?: string;
  /** DT_NEEDED entries in file order. */
  needed: string[];
}

/** The dependency fields of a kernel module's `.modinfo`. */
export interface ModInfo {
  /** `depends=`: module names, comma-separated in the file. */
  depends: string[];
  /** `softdep=` "pre:" names (module names or aliases). */
  softdepPre: string[];
  /** `alias=` patterns. */
  aliases: string[];
}

const SHT_NOBITS = 8;
const DT_NEEDED = 1n;
const decoder = new TextDecoder();

/** Parses the ELF header and section table from their bytes. */
export function parseElfSections(
  header: Uint8Array,
  table: Uint8Array,
  names: Uint8Array,
): ElfSection[] {
  const h = elfHeader(header);
  const v = new DataView(table.buffer, table.byteOffset, table.byteLength);
  const out: ElfSection[] = [];
  for (let i = 0; i < h.shnum; i++) {
    const o = i * h.shentsize;
    out.push({
      name: cString(names, v.getUint32(o, true)),
      type: v.getUint32(o + 4, true),
      offset: Number(v.getBigUint64(o + 24, true)),
      size: Number(v.getBigUint64(o + 32, true)),
      link: v.getUint32(o + 40, true),
    });
  }
  return out;
}

interface ElfHeader {
  shoff: number;
  shentsize: number;
  shnum: number;
  shstrndx: number;
}

function elfHeader(b: Uint8Array): ElfHeader {
  if (
    b.length < 64 || b[0] !== 0x7f || b[1] !== 0x45 || b[2] !== 0x4c ||
    b[3] !== 0x46
  ) {
    throw new Error("not an ELF file (bad magic)");
  }
  if (b[4] !== 2 || b[5] !== 1) {
    throw new Error(
      `unsupported ELF class ${b[4]}/data ${b[5]} (want 64-bit LE)`,
    );
  }
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return {
    shoff: Number(v.getBigUint64(0x28, true)),
    shentsize: v.getUint16(0x3a, true),
    shnum: v.getUint16(0x3c, true),
    shstrndx: v.getUint16(0x3e, true),
  };
}

function cString(b: Uint8Array, at: number): string {
  let end = at;
  while (end < b.length && b[end] !== 0) end++;
  return decoder.decode(b.subarray(at, end));
}

/** An open ELF file whose sections can be read one by one. */
export class ElfFile implements Disposable {
  #file: Deno.FsFile;
  #path: string;
  /** The file's sections. */
  readonly sections: readonly ElfSection[];

  private constructor(file: Deno.FsFile, path: string, sections: ElfSection[]) {
    this.#file = file;
    this.#path = path;
    this.sections = sections;
  }

  /** Opens `path` and reads its section table. */
  static open(path: string): ElfFile {
    const file = Deno.openSync(path, { read: true });
    try {
      const header = readAt(file, 0, 64);
      const h = elfHeader(header);
      if (h.shnum === 0) throw new Error("no section table");
      const table = readAt(file, h.shoff, h.shnum * h.shentsize);
      const tv = new DataView(table.buffer);
      const so = h.shstrndx * h.shentsize;
      const names = readAt(
        file,
        Number(tv.getBigUint64(so + 24, true)),
        Number(tv.getBigUint64(so + 32, true)),
      );
      return new ElfFile(file, path, parseElfSections(header, table, names));
    } catch (cause) {
      file.close();
      throw new Error(`Cannot read ELF file ${JSON.stringify(path)}`, {
        cause,
      });
    }
  }

  /** The bytes of the named section, or undefined when there is none. */
  section(name: string): Uint8Array | undefined {
    const s = this.sections.find((x) => x.name === name);
    return s === undefined ? undefined : this.#read(s);
  }

  #read(s: ElfSection): Uint8Array {
    if (s.type === SHT_NOBITS) return new Uint8Array(0);
    try {
      return readAt(this.#file, s.offset, s.size);
    } catch (cause) {
      throw new Error(
        `Cannot read section ${JSON.stringify(s.name)} of ${
          JSON.stringify(this.#path)
        }`,
        { cause },
      );
    }
  }

  /** The interpreter and DT_NEEDED libraries (empty for a static file). */
  dynamic(): ElfDynamic {
    const interp = this.section(".interp");
    const out: ElfDynamic = { needed: [] };
    if (interp !== undefined) out.interpreter = cString(interp, 0);
    const dyn = this.sections.find((x) => x.name === ".dynamic");
    if (dyn === undefined) return out;
    const strtab = this.sections[dyn.link];
    if (strtab === undefined) {
      throw new Error(
        `.dynamic of ${JSON.stringify(this.#path)} has no strtab`,
      );
    }
    const strs = this.#read(strtab);
    const d = this.#read(dyn);
    const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
    for (let o = 0; o + 16 <= d.length; o += 16) {
      const tag = v.getBigInt64(o, true);
      if (tag === 0n) break;
      if (tag === DT_NEEDED) {
        out.needed.push(cString(strs, Number(v.getBigUint64(o + 8, true))));
      }
    }
    return out;
  }

  /** Closes the file. */
  close(): void {
    this.#file.close();
  }

  /** Closes the file. */
  [Symbol.dispose](): void {
    this.close();
  }
}

function readAt(file: Deno.FsFile, offset: number, size: number): Uint8Array {
  const buf = new Uint8Array(size);
  file.seekSync(offset, Deno.SeekMode.Start);
  let got = 0;
  while (got < size) {
    const n = file.readSync(buf.subarray(got));
    if (n === null || n === 0) {
      throw new Error(`short read: ${got} of ${size} bytes at ${offset}`);
    }
    got += n;
  }
  return buf;
}

/** Parses `.modinfo` bytes: NUL-separated `key=value` strings. */
export function parseModinfo(bytes: Uint8Array): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const s of decoder.decode(bytes).split("\0")) {
    const eq = s.indexOf("=");
    if (eq > 0) out.push([s.slice(0, eq), s.slice(eq + 1)]);
  }
  return out;
}

/** Reads the dependency fields of the kernel module at `path`. */
export function readModinfo(path: string): ModInfo {
  using elf = ElfFile.open(path);
  const raw = elf.section(".modinfo");
  if (raw === undefined) {
    throw new Error(`Kernel module ${JSON.stringify(path)} has no .modinfo`);
  }
  const info: ModInfo = { depends: [], softdepPre: [], aliases: [] };
  for (const [k, v] of parseModinfo(raw)) {
    if (k === "depends") {
      info.depends.push(...v.split(",").filter((x) => x !== ""));
    } else if (k === "alias") {
      info.aliases.push(v);
    } else if (k === "softdep") {
      const words = v.trim().split(/\s+/);
      let pre = false;
      for (const w of words) {
        if (w === "pre:") pre = true;
        else if (w === "post:") pre = false;
        else if (pre && w !== "") info.softdepPre.push(w);
      }
    }
  }
  return info;
}
