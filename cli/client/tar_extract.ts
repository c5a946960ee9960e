/**
 * Extracting the .tar.gz a node sends for `osctl cp` into a local folder,
 * safely: every name must stay inside the folder (no absolute name, no
 * ".."), nothing is written through a symlink (the archive's own links are
 * made, never followed), only folders, files and symlinks are made, and
 * permission bits lose setuid, setgid and sticky.
 * @module
 */

const BLOCK = 512;
const decoder = new TextDecoder();

/** What an extraction made. */
export interface ExtractSummary {
  /** Files written. */
  files: number;
  /** Folders made. */
  dirs: number;
  /** Symlinks made. */
  links: number;
  /** Entries of other kinds, left out. */
  skipped: number;
}

/** Reads exactly-sized pieces off a byte stream. */
class ByteQueue {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #chunks: Uint8Array[] = [];
  #size = 0;
  #done = false;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }

  /** `n` bytes, or fewer at the end of the stream. */
  async take(n: number): Promise<Uint8Array> {
    while (this.#size < n && !this.#done) {
      const { done, value } = await this.#reader.read();
      if (done) this.#done = true;
      else if (value.length > 0) {
        this.#chunks.push(value);
        this.#size += value.length;
      }
    }
    const want = Math.min(n, this.#size);
    const out = new Uint8Array(want);
    let at = 0;
    while (at < want) {
      const c = this.#chunks[0];
      const k = Math.min(c.length, want - at);
      out.set(c.subarray(0, k), at);
      at += k;
      if (k === c.length) this.#chunks.shift();
      else this.#chunks[0] = c.subarray(k);
    }
    this.#size -= want;
    return out;
  }

  release(): void {
    this.#reader.releaseLock();
  }
}

function field(b: Uint8Array, off: number, len: number): string {
  const part = b.subarray(off, off + len);
  const nul = part.indexOf(0);
  return decoder.decode(nul < 0 ? part : part.subarray(0, nul));
}

function octal(b: Uint8Array, off: number, len: number, what: string): number {
  const text = field(b, off, len).trim();
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) {
    throw new Error(
      `Cannot read the archive: ${what} ${JSON.stringify(text)} is not octal`,
    );
  }
  return parseInt(text, 8);
}

function paxRecords(data: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  const text = decoder.decode(data);
  for (let at = 0; at < text.length;) {
    const space = text.indexOf(" ", at);
    const len = Number(text.slice(at, space));
    if (space < 0 || !Number.isInteger(len) || len <= 0) break;
    const record = text.slice(space + 1, at + len - 1);
    const eq = record.indexOf("=");
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    at += len;
  }
  return out;
}

/**
 * The name of an entry inside the destination, checked: relative, no "..",
 * no empty result; throws naming it otherwise.
 */
export function safeEntryName(name: string): string {
  const parts = name.split("/").filter((p) => p !== "" && p !== ".");
  if (name.startsWith("/") || parts.includes("..") || parts.length === 0) {
    throw new Error(
      `Cannot extract ${
        JSON.stringify(name)
      }: it would land outside the destination`,
    );
  }
  return parts.join("/");
}

/** Throws when a folder on the way to `rel` under `dest` is a symlink. */
async function checkParents(dest: string, rel: string): Promise<void> {
  const parts = rel.split("/");
  let path = dest;
  for (const p of parts.slice(0, -1)) {
    path = `${path}/${p}`;
    const info = await Deno.lstat(path).catch(() => undefined);
    if (info === undefined) return;
    if (!info.isDirectory) {
      throw new Error(
        `Cannot extract ${JSON.stringify(rel)}: ${
          JSON.stringify(path)
        } is not a folder (a symlink is never followed)`,
      );
    }
  }
}

/** Extracts a .tar.gz byte stream into `dest` (made if missing). */
export async function extractTarGz(
  gz: ReadableStream<Uint8Array>,
  dest: string,
): Promise<ExtractSummary> {
  await Deno.mkdir(dest, { recursive: true });
  const summary: ExtractSummary = { files: 0, dirs: 0, links: 0, skipped: 0 };
  const q = new ByteQueue(
    gz.pipeThrough(
      new DecompressionStream("gzip") as unknown as ReadableWritablePair<
        Uint8Array,
        Uint8Array
      >,
    ),
  );
  try {
    let pax: Record<string, string> = {};
    while (true) {
      const h = await q.take(BLOCK);
      if (h.length < BLOCK) {
        throw new Error("Cannot read the archive: it ends inside a header");
      }
      if (h.every((b) => b === 0)) break;
      const size = octal(h, 124, 12, "size");
      const type = String.fromCharCode(h[156] || 0x30);
      const data = async () => {
        const d = await q.take(size);
        if (d.length < size) {
          throw new Error("Cannot read the archive: it ends inside a file");
        }
        await q.take((BLOCK - (size % BLOCK)) % BLOCK);
        return d;
      };
      if (type === "x") {
        pax = paxRecords(await data());
        continue;
      }
      const prefix = field(h, 345, 155);
      const raw = pax.path ??
        (prefix ? `${prefix}/${field(h, 0, 100)}` : field(h, 0, 100));
      const linkname = pax.linkpath ?? field(h, 157, 100);
      pax = {};
      const mode = octal(h, 100, 8, "mode") & 0o777;
      const rel = safeEntryName(raw);
      const path = `${dest}/${rel}`;
      await checkParents(dest, rel);
      if (type === "5") {
        await data();
        const info = await Deno.lstat(path).catch(() => undefined);
        if (info && !info.isDirectory) {
          throw new Error(
            `Cannot extract ${JSON.stringify(rel)}: a non-folder is in the way`,
          );
        }
        await Deno.mkdir(path, { recursive: true, mode: mode | 0o700 });
        summary.dirs++;
      } else if (type === "0") {
        const bytes = await data();
        const parent = path.slice(0, path.lastIndexOf("/"));
        await Deno.mkdir(parent, { recursive: true });
        // Never write through a link the archive (or anyone) put there.
        await Deno.remove(path).catch(() => {});
        await Deno.writeFile(path, bytes, { mode, createNew: true });
        summary.files++;
      } else if (type === "2") {
        await data();
        const parent = path.slice(0, path.lastIndexOf("/"));
        await Deno.mkdir(parent, { recursive: true });
        await Deno.remove(path).catch(() => {});
        await Deno.symlink(linkname, path);
        summary.links++;
      } else {
        await data();
        summary.skipped++;
      }
    }
  } finally {
    q.release();
  }
  return summary;
}
