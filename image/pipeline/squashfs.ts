/**
 * The read-only root: mksquashfs with reproducible settings (every file
 * owned by root, all times 0, entries sorted by mksquashfs, no xattrs).
 * @module
 */

import { run } from "./exec.ts";

/** Options for {@linkcode makeSquashfs}. */
export interface SquashfsOptions {
  /** zstd level, 1..22 (default 19). */
  level?: number;
  /** Block size in bytes (default 128 KiB). */
  blockSize?: number;
  /** Aborts mksquashfs. */
  signal?: AbortSignal;
}

/** Makes `out` from the folder `src`. */
export async function makeSquashfs(
  src: string,
  out: string,
  options: SquashfsOptions = {},
): Promise<void> {
  const level = options.level ?? 19;
  if (!Number.isInteger(level) || level < 1 || level > 22) {
    throw new Error(`Invalid squashfs zstd level ${level} (1..22)`);
  }
  await Deno.remove(out).catch(() => {});
  await run("mksquashfs", [
    src,
    out,
    "-noappend",
    "-no-progress",
    "-quiet",
    "-all-root",
    "-mkfs-time",
    "0",
    "-all-time",
    "0",
    "-no-xattrs",
    "-comp",
    "zstd",
    "-Xcompression-level",
    String(level),
    "-b",
    String(options.blockSize ?? 128 * 1024),
  ], { signal: options.signal });
}
