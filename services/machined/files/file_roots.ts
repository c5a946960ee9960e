/**
 * The folders the file API (List, DiskUsage, Read, Copy) may serve, and the
 * check every path goes through: absolute, no "..", under one of the roots,
 * and, once its symlinks are resolved, still under that root. Refusals name
 * the path: InvalidArgument for a malformed one, PermissionDenied for one
 * outside the roots, NotFound for one that does not exist.
 * @module
 */
import { ApiError } from "../../../lib/api_error/mod.ts";

/** A path that passed the checks. */
export interface AllowedPath {
  /** The path as asked, normalised (no ".", no "//", no trailing "/"). */
  path: string;
  /** The root it is under, as configured. */
  root: string;
  /** The path with every symlink resolved (under the root's real path). */
  real: string;
}

/** Files that never end when read (a Read of them would hang). */
const ENDLESS_FILES: ReadonlySet<string> = new Set([
  "/proc/kmsg",
  "/proc/kcore",
  "/sys/kernel/tracing/trace_pipe",
  "/sys/kernel/debug/tracing/trace_pipe",
]);

/** Longest path accepted (PATH_MAX). */
const MAX_PATH = 4096;

/**
 * Normalises an absolute path without touching the file system; throws
 * InvalidArgument naming the path when it is empty, relative, has a NUL or
 * a ".." segment, or is too long.
 */
export function normalizePath(path: string): string {
  const quoted = JSON.stringify(path);
  if (path === "") throw new ApiError("InvalidArgument", "path is empty");
  if (path.length > MAX_PATH) {
    throw new ApiError(
      "InvalidArgument",
      `path ${JSON.stringify(path.slice(0, 64))}... is longer than ${MAX_PATH}`,
    );
  }
  if (path.includes("\0")) {
    throw new ApiError("InvalidArgument", `path ${quoted} contains a NUL byte`);
  }
  if (!path.startsWith("/")) {
    throw new ApiError("InvalidArgument", `path ${quoted} is not absolute`);
  }
  const parts = path.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) {
    throw new ApiError(
      "InvalidArgument",
      `path ${quoted} contains "..": name the file directly`,
    );
  }
  return "/" + parts.join("/");
}

/** Whether `path` is `dir` or under it (both normalised). */
export function isUnder(path: string, dir: string): boolean {
  return dir === "/"
    ? path.startsWith("/")
    : path === dir || path.startsWith(dir + "/");
}

/** The allowed roots of one node, and the checks of a path against them. */
export class FileRoots {
  #roots: string[];
  #real = new Map<string, Promise<string>>();

  /** Roots are absolute folders; a root under another is redundant but fine. */
  constructor(roots: readonly string[]) {
    if (roots.length === 0) throw new Error("FileRoots needs at least a root");
    this.#roots = roots.map((r) => {
      const n = normalizePath(r);
      if (n === "/") throw new Error("FileRoots: / cannot be a root");
      return n;
    });
    // Longest first: a path belongs to its closest root.
    this.#roots.sort((a, b) => b.length - a.length);
  }

  /** The roots, sorted by name. */
  get roots(): readonly string[] {
    return [...this.#roots].sort();
  }

  /**
   * The root `path` (normalised) is under, without touching the file
   * system; throws PermissionDenied naming the path and the roots.
   */
  rootOf(path: string): string {
    const root = this.#roots.find((r) => isUnder(path, r));
    if (root === undefined) {
      throw new ApiError(
        "PermissionDenied",
        `path ${JSON.stringify(path)} is outside the allowed roots (${
          this.roots.join(", ")
        })`,
      );
    }
    return root;
  }

  /**
   * Checks a path asked for by a caller: normalised, under a root, and with
   * its symlinks resolved still under the real path of that root.
   */
  async check(path: string): Promise<AllowedPath> {
    const normal = normalizePath(path);
    const root = this.rootOf(normal);
    const realRoot = await this.#realRoot(root);
    let real: string;
    try {
      real = await Deno.realPath(normal);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) {
        throw new ApiError(
          "NotFound",
          `path ${JSON.stringify(normal)} does not exist`,
        );
      }
      throw new ApiError(
        "PermissionDenied",
        `cannot resolve path ${JSON.stringify(normal)}: ${message(err)}`,
      );
    }
    if (!isUnder(real, realRoot)) {
      throw new ApiError(
        "PermissionDenied",
        `path ${JSON.stringify(normal)} leads outside its root ${
          JSON.stringify(root)
        } (to ${JSON.stringify(real)})`,
      );
    }
    return { path: normal, root, real };
  }

  /** Like check(), and refuses files whose reads never end (/proc/kmsg). */
  async checkReadable(path: string): Promise<AllowedPath> {
    const p = await this.check(path);
    if (ENDLESS_FILES.has(p.real) || ENDLESS_FILES.has(p.path)) {
      throw new ApiError(
        "InvalidArgument",
        `path ${
          JSON.stringify(p.path)
        } never ends when read: use dmesg or logs`,
      );
    }
    return p;
  }

  /** Whether a path found while walking (already real) stays in `root`. */
  async contains(root: string, realPath: string): Promise<boolean> {
    return isUnder(realPath, await this.#realRoot(root));
  }

  #realRoot(root: string): Promise<string> {
    let p = this.#real.get(root);
    if (!p) {
      p = Deno.realPath(root).catch((err) => {
        this.#real.delete(root);
        throw new ApiError(
          "NotFound",
          `root ${JSON.stringify(root)} is not available: ${message(err)}`,
        );
      });
      this.#real.set(root, p);
    }
    return p;
  }
}

function message(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  // Deno appends "(os error N)"; the status already says what kind it is.
  return text.replace(/\s*\(os error \d+\)$/, "");
}
