/**
 * File access: List, DiskUsage, Read and Copy (a .tar.gz stream), serving
 * only the node's allowed roots (services/machined/files/file_roots.ts).
 * Listing "/" (or nothing) lists the roots themselves.
 * @module
 */
import {
  type FileInfo,
  ListRequest_Type,
} from "../../../lib/api/gen/machine/machine.ts";
import { goFileMode } from "../../../lib/api/mod.ts";
import type { MethodHandlers } from "../../../lib/api/serve.ts";
import { ApiError } from "../../../lib/api_error/mod.ts";
import type { FileRoots } from "../files/file_roots.ts";
import { errorText, walk, type WalkEntry } from "../files/file_walk.ts";
import {
  endBlocks,
  headerBlocks,
  padding,
  type TarHeader,
} from "../files/tar_writer.ts";

/** Largest Data chunk of Read and Copy (bytes). */
const CHUNK_BYTES = 64 * 1024;
/** Files up to this size are read whole before archiving (/proc, /sys). */
const VIRTUAL_FILE_MAX = 1024 * 1024;

function fileInfo(e: WalkEntry): FileInfo {
  const base: FileInfo = {
    metadata: undefined,
    name: e.path,
    relativeName: e.relative,
    size: 0,
    mode: 0,
    modified: 0,
    isDir: false,
    error: e.error ?? "",
    link: e.link ?? "",
    uid: 0,
    gid: 0,
    xattrs: [],
  };
  const i = e.info;
  if (!i || e.error) return base;
  return {
    ...base,
    size: i.size,
    mode: goFileMode(i.mode ?? 0),
    modified: Math.floor((i.mtime?.getTime() ?? 0) / 1000),
    isDir: i.isDirectory,
    uid: i.uid ?? 0,
    gid: i.gid ?? 0,
  };
}

function typeOf(e: WalkEntry): ListRequest_Type | undefined {
  if (!e.info) return undefined;
  if (e.info.isSymlink) return ListRequest_Type.SYMLINK;
  if (e.info.isDirectory) return ListRequest_Type.DIRECTORY;
  if (e.info.isFile) return ListRequest_Type.REGULAR;
  return undefined;
}

function isRootListing(root: string): boolean {
  return root === "" || /^\/+$/.test(root);
}

/** The List, DiskUsage, Read and Copy handlers over `roots`. */
export function fileApi(
  roots: FileRoots,
): Pick<MethodHandlers<"machined">, "List" | "DiskUsage" | "Read" | "Copy"> {
  return {
    List: async (req, ctx) => {
      if (req.recursionDepth < 0) {
        throw new ApiError(
          "InvalidArgument",
          `recursion_depth ${req.recursionDepth} is negative`,
        );
      }
      const types = new Set(req.types);
      const keep = (e: WalkEntry) => {
        if (types.size === 0 || e.error) return true;
        const t = typeOf(e);
        return t !== undefined && types.has(t);
      };
      if (isRootListing(req.root)) {
        // "/" is not a root: list the roots, so a caller can find them.
        for (const root of roots.roots) {
          const info = await Deno.stat(root).catch(() => undefined);
          const e: WalkEntry = info
            ? {
              path: root,
              real: root,
              relative: root.slice(1),
              depth: 1,
              info,
            }
            : {
              path: root,
              real: root,
              relative: root.slice(1),
              depth: 1,
              error: "not available",
            };
          if (keep(e)) await ctx.send(fileInfo(e));
        }
        return;
      }
      const start = await roots.check(req.root);
      const maxDepth = !req.recurse
        ? 1
        : req.recursionDepth === 0
        ? undefined
        : req.recursionDepth;
      for await (const e of walk(start, { maxDepth, signal: ctx.signal })) {
        if (keep(e)) await ctx.send(fileInfo(e));
      }
    },

    DiskUsage: async (req, ctx) => {
      if (req.recursionDepth < 0) {
        throw new ApiError(
          "InvalidArgument",
          `recursion_depth ${req.recursionDepth} is negative`,
        );
      }
      if (req.paths.length === 0) {
        throw new ApiError("InvalidArgument", "no paths to measure");
      }
      // Every path is checked before any is measured.
      const starts = [];
      for (const p of req.paths) starts.push(await roots.check(p));
      const shown = (depth: number, isDir: boolean, size: number) =>
        !(req.recursionDepth > 0 && depth >= req.recursionDepth) &&
        (isDir || req.all) &&
        !(req.threshold > 0 && size < req.threshold) &&
        !(req.threshold < 0 && size > -req.threshold);
      for (const start of starts) {
        // Post-order: a folder is sent after everything under it, with
        // its size (its own and all beneath).
        const open: Array<{ e: WalkEntry; size: number }> = [];
        const close = async (depth: number) => {
          while (open.length > 0 && open[open.length - 1].e.depth >= depth) {
            const done = open.pop()!;
            if (open.length > 0) open[open.length - 1].size += done.size;
            if (shown(done.e.depth, true, done.size)) {
              await ctx.send({
                metadata: undefined,
                name: done.e.path,
                relativeName: done.e.relative,
                size: done.size,
                error: "",
              });
            }
          }
        };
        for await (
          const e of walk(start, { signal: ctx.signal })
        ) {
          await close(e.depth);
          if (e.error) {
            await ctx.send({
              metadata: undefined,
              name: e.path,
              relativeName: e.relative,
              size: 0,
              error: e.error,
            });
            continue;
          }
          // /proc/kcore says the size of the address space, not of a file.
          const size = e.real === "/proc/kcore"
            ? 0
            : Math.max(0, e.info?.size ?? 0);
          if (e.info?.isDirectory) {
            open.push({ e, size });
            continue;
          }
          if (open.length > 0) open[open.length - 1].size += size;
          if (shown(e.depth, false, size)) {
            await ctx.send({
              metadata: undefined,
              name: e.path,
              relativeName: e.relative,
              size,
              error: "",
            });
          }
        }
        await close(0);
      }
    },

    Read: async (req, ctx) => {
      const p = await roots.checkReadable(req.path);
      const info = await Deno.stat(p.real);
      if (!info.isFile) {
        throw new ApiError(
          "InvalidArgument",
          `path ${JSON.stringify(p.path)} is not a regular file`,
        );
      }
      using file = await Deno.open(p.real, { read: true }).catch((err) => {
        throw new ApiError(
          "PermissionDenied",
          `cannot open ${JSON.stringify(p.path)}: ${errorText(err)}`,
        );
      });
      const buf = new Uint8Array(CHUNK_BYTES);
      while (true) {
        ctx.signal.throwIfAborted();
        const n = await file.read(buf).catch((err) => {
          throw new ApiError(
            "Internal",
            `cannot read ${JSON.stringify(p.path)}: ${errorText(err)}`,
          );
        });
        if (n === null) break;
        await ctx.send({ metadata: undefined, bytes: buf.slice(0, n) });
      }
    },

    Copy: async (req, ctx) => {
      const start = await roots.check(req.rootPath);
      const top = await Deno.stat(start.real);
      const base = start.path.slice(start.path.lastIndexOf("/") + 1);
      const gzip = new CompressionStream("gzip");
      const writer = gzip.writable.getWriter();
      const produce = (async () => {
        try {
          for await (const e of walk(start, { signal: ctx.signal })) {
            await archiveEntry(writer, e, top.isDirectory ? undefined : base);
          }
          await writer.write(endBlocks());
          await writer.close();
        } catch (err) {
          await writer.abort(err).catch(() => {});
          throw err;
        }
      })();
      const reader = gzip.readable.getReader();
      let pending: Uint8Array[] = [];
      let size = 0;
      const flush = async () => {
        if (size === 0) return;
        const out = new Uint8Array(size);
        let at = 0;
        for (const p of pending) {
          out.set(p, at);
          at += p.length;
        }
        pending = [];
        size = 0;
        await ctx.send({ metadata: undefined, bytes: out });
      };
      try {
        while (true) {
          const { done, value } = await reader.read();
          if (done) break;
          pending.push(value);
          size += value.length;
          if (size >= CHUNK_BYTES) await flush();
        }
        await flush();
      } finally {
        reader.releaseLock();
      }
      await produce;
    },
  };
}

type ChunkWriter = WritableStreamDefaultWriter<BufferSource>;

/** Writes one walked entry into the tar (skipping what tar cannot hold). */
async function archiveEntry(
  w: ChunkWriter,
  e: WalkEntry,
  fileName: string | undefined,
): Promise<void> {
  const i = e.info;
  if (!i || e.error) return;
  // A directory's own entry is its contents; a file root is named by itself.
  if (e.depth === 0 && i.isDirectory) return;
  const name = fileName ?? e.relative;
  const header: TarHeader = {
    name,
    type: "file",
    mode: (i.mode ?? 0o644) & 0o7777,
    uid: i.uid ?? 0,
    gid: i.gid ?? 0,
    size: 0,
    mtime: Math.floor((i.mtime?.getTime() ?? 0) / 1000),
  };
  if (i.isDirectory) {
    for (
      const b of headerBlocks({ ...header, name: name + "/", type: "dir" })
    ) {
      await w.write(b);
    }
    return;
  }
  if (i.isSymlink) {
    if (e.link === undefined) return;
    for (
      const b of headerBlocks({ ...header, type: "symlink", linkname: e.link })
    ) await w.write(b);
    return;
  }
  if (!i.isFile) return;
  let file: Deno.FsFile;
  try {
    file = await Deno.open(e.real, { read: true });
  } catch {
    // Unreadable (permissions, EINVAL on some /proc/sys files): skipped.
    return;
  }
  using f = file;
  const opened = await f.stat();
  // Swapped between the walk and the open (a symlink now): not archived.
  if (!opened.isFile || opened.ino !== i.ino || opened.dev !== i.dev) return;
  if (i.size <= VIRTUAL_FILE_MAX) {
    // Small files are read first and archived at the length read: /proc
    // files say 0 and /sys attributes 4096, whatever they hold.
    const data = await readUpTo(f, VIRTUAL_FILE_MAX).catch(() => undefined);
    if (data === undefined) return;
    for (const b of headerBlocks({ ...header, size: data.length })) {
      await w.write(b);
    }
    await w.write(data);
    await w.write(padding(data.length));
    return;
  }
  for (const b of headerBlocks({ ...header, size: i.size })) await w.write(b);
  // Exactly the size the header says: a file that grows is cut, one that
  // shrinks is padded with zeros.
  let left = i.size;
  const buf = new Uint8Array(CHUNK_BYTES);
  while (left > 0) {
    const n = await f.read(buf.subarray(0, Math.min(left, buf.length)))
      .catch(() => null);
    if (n === null) break;
    await w.write(buf.slice(0, n));
    left -= n;
  }
  if (left > 0) await w.write(new Uint8Array(left));
  await w.write(padding(i.size));
}

/** Up to `max` bytes of an open file. */
async function readUpTo(
  f: Deno.FsFile,
  max: number,
): Promise<Uint8Array<ArrayBuffer>> {
  const out = new Uint8Array(max);
  let at = 0;
  while (at < max) {
    const n = await f.read(out.subarray(at));
    if (n === null) break;
    at += n;
  }
  return out.slice(0, at);
}
