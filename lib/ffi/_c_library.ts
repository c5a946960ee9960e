/**
 * What {@linkcode Libc} and {@linkcode Sys} share: opening glibc with a
 * symbol table, reading the calling thread's errno, and the open(2) flags
 * both pass.
 * @module
 */

/** The default library name (glibc). */
export const LIBC_PATH = "libc.so.6";
/** open(2): read only. */
export const O_RDONLY = 0;
/** open(2): close on exec. */
export const O_CLOEXEC = 0o2000000;
/** open(2): reads and writes never wait (EAGAIN instead). */
export const O_NONBLOCK = 0o4000;

/** dlopen(3)s the C library at `path` with `symbols`; throws naming the path. */
export function openCLibrary<S extends Deno.ForeignLibraryInterface>(
  path: string,
  symbols: S,
): Deno.DynamicLibrary<S> {
  try {
    return Deno.dlopen(path, symbols);
  } catch (cause) {
    throw new Error(`Cannot open C library ${JSON.stringify(path)}`, {
      cause,
    });
  }
}

/** The calling thread's errno, through glibc's `__errno_location()`. */
export function threadErrno(errnoLocation: () => Deno.PointerValue): number {
  const p = errnoLocation();
  return p === null ? 0 : new Deno.UnsafePointerView(p).getInt32(0);
}
