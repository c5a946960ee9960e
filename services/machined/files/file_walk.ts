/**
 * Walking a folder for the file API: the start itself, then its entries
 * depth-first in name order, never following a symlink below the start
 * (a link is reported, not entered), at most a bounded number of entries,
 * stopped by the caller's signal.
 * @module
 */

/** One file met on a walk. */
export interface WalkEntry {
  /** Absolute path (under the walk's start path as asked). */
  path: string;
  /** Where it really is (the start's symlinks resolved). */
  real: string;
  /** Path relative to the start ("." for the start itself). */
  relative: string;
  /** Depth below the start (0 for the start). */
  depth: number;
  /** lstat of the entry (stat for the start); absent when it failed. */
  info?: Deno.FileInfo;
  /** A symlink's target. */
  link?: string;
  /** Why the entry could not be read. */
  error?: string;
}

/** Options of {@linkcode walk}. */
export interface WalkOptions {
  /** Deepest level returned; 0 is the start only, undefined no limit. */
  maxDepth?: number;
  /** Most entries returned; one more entry then says the walk stopped. */
  maxEntries?: number;
  /** Stops the walk. */
  signal?: AbortSignal;
}

/** Default bound on the entries of one walk. */
export const DEFAULT_MAX_ENTRIES = 100_000;

/** Deno's message without the "(os error N)" tail. */
export function errorText(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/\s*\(os error \d+\)$/, "");
}

/**
 * Walks from `start` (already checked, its symlinks resolved by `real`):
 * the start (stat), then each entry (lstat) down to `maxDepth`, in strict
 * pre-order (a folder's contents right after it), names sorted.
 */
export async function* walk(
  start: { path: string; real: string },
  options: WalkOptions = {},
): AsyncGenerator<WalkEntry, void, undefined> {
  const maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
  let count = 0;
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(start.real);
  } catch (err) {
    yield {
      path: start.path,
      real: start.real,
      relative: ".",
      depth: 0,
      error: errorText(err),
    };
    return;
  }
  yield { path: start.path, real: start.real, relative: ".", depth: 0, info };
  count++;
  if (!info.isDirectory || options.maxDepth === 0) return;
  // An explicit stack of open folders, not recursion.
  const stack: Array<{ dir: WalkEntry; names: string[]; next: number }> = [];
  const enter = async (dir: WalkEntry): Promise<WalkEntry | undefined> => {
    try {
      const names: string[] = [];
      for await (const e of Deno.readDir(dir.real)) names.push(e.name);
      names.sort();
      stack.push({ dir, names, next: 0 });
      return undefined;
    } catch (err) {
      return { ...dir, info: undefined, error: errorText(err) };
    }
  };
  const failed = await enter({
    path: start.path,
    real: start.real,
    relative: ".",
    depth: 0,
  });
  if (failed) yield failed;
  while (stack.length > 0) {
    options.signal?.throwIfAborted();
    const top = stack[stack.length - 1];
    if (top.next >= top.names.length) {
      stack.pop();
      continue;
    }
    const name = top.names[top.next++];
    if (count >= maxEntries) {
      yield {
        ...top.dir,
        info: undefined,
        error: `stopped after ${maxEntries} entries`,
      };
      return;
    }
    const dir = top.dir;
    const entry: WalkEntry = {
      path: dir.path === "/" ? `/${name}` : `${dir.path}/${name}`,
      real: `${dir.real}/${name}`,
      relative: dir.relative === "." ? name : `${dir.relative}/${name}`,
      depth: dir.depth + 1,
    };
    try {
      entry.info = await Deno.lstat(entry.real);
      if (entry.info.isSymlink) {
        entry.link = await Deno.readLink(entry.real).catch(() => undefined);
      }
    } catch (err) {
      delete entry.info;
      entry.error = errorText(err);
    }
    yield entry;
    count++;
    if (
      entry.info?.isDirectory &&
      (options.maxDepth === undefined || entry.depth < options.maxDepth)
    ) {
      const failed = await enter(entry);
      if (failed) yield failed;
    }
  }
}
