/**
 * Reading sysfs. Deno's file APIs refuse /sys without --allow-all, so
 * udevd-lite reads it through libc (it has --allow-ffi for uevents anyway).
 * @module
 */
import type { DirEntry, Libc } from "../../lib/ffi/mod.ts";

/** What udevd-lite reads from sysfs (or a fixture tree in tests). */
export interface SysfsReader {
  /** An attribute's text, trimmed; undefined when absent or unreadable. */
  attr(path: string): string | undefined;
  /** A folder's entries; throws naming the folder when it cannot be read. */
  list(path: string): DirEntry[];
  /** Whether a path exists. */
  exists(path: string): boolean;
}

const MAX_ATTR = 8192;

/** A SysfsReader over libc's open/read/opendir. */
export function libcSysfs(libc: Libc): SysfsReader {
  const decoder = new TextDecoder();
  return {
    attr(path) {
      try {
        const v = decoder.decode(libc.readFile(path, { maxBytes: MAX_ATTR }))
          .trim();
        return v === "" ? undefined : v;
      } catch {
        return undefined;
      }
    },
    list(path) {
      return libc.readDir(path);
    },
    exists(path) {
      try {
        libc.close(libc.openReadOnly(path));
        return true;
      } catch {
        return false;
      }
    },
  };
}
