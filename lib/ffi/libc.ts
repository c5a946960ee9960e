import {
  LIBC_PATH,
  O_CLOEXEC,
  O_NONBLOCK,
  O_RDONLY,
  openCLibrary,
  threadErrno,
} from "./_c_library.ts";
import { EAGAIN, EINTR, SyscallError } from "./errno.ts";

export { LIBC_PATH };

const SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  setsockopt: {
    parameters: ["i32", "i32", "i32", "buffer", "u32"],
    result: "i32",
  },
  sendto: {
    parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"],
    result: "isize",
  },
  recv: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  recvfrom: {
    parameters: ["i32", "buffer", "usize", "i32", "buffer", "buffer"],
    result: "isize",
  },
  // The only call that waits: it runs on Deno's blocking pool, never on the
  // event loop, and always with a bounded timeout.
  poll: {
    parameters: ["buffer", "u64", "i32"],
    result: "i32",
    nonblocking: true,
  },
  close: { parameters: ["i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  opendir: { parameters: ["buffer"], result: "pointer" },
  readdir: { parameters: ["pointer"], result: "pointer" },
  closedir: { parameters: ["pointer"], result: "i32" },
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  sethostname: { parameters: ["buffer", "usize"], result: "i32" },
  malloc_trim: { parameters: ["usize"], result: "i32" },
  setns: { parameters: ["i32", "i32"], result: "i32" },
  syscall: { parameters: ["i64", "i64", "buffer", "i64"], result: "i64" },
  // finit_module(2) on Deno's blocking pool (Libc.finitModuleFd).
  syscall_nb: {
    name: "syscall",
    parameters: ["i64", "i64", "buffer", "i64"],
    result: "i64",
    nonblocking: true,
  },
  statfs: { parameters: ["buffer", "buffer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The space of a file system, from {@linkcode Libc.statfs}, in bytes. */
export interface FsSpace {
  /** Total size. */
  size: number;
  /** Free. */
  free: number;
  /** Free for unprivileged users. */
  available: number;
}

/** One directory entry from {@linkcode Libc.readDir}. */
export interface DirEntry {
  /** The entry's name. */
  name: string;
  /** Its type from d_type. */
  type: "file" | "dir" | "symlink" | "other" | "unknown";
}

// struct dirent (glibc, 64-bit): d_ino u64, d_off i64, d_reclen u16,
// d_type u8, d_name[256].
const DIRENT_TYPE_OFFSET = 18;
const DIRENT_NAME_OFFSET = 19;
const DT_NAMES: Readonly<Record<number, DirEntry["type"]>> = {
  1: "other", // FIFO
  2: "other", // CHR
  4: "dir",
  6: "other", // BLK
  8: "file",
  10: "symlink",
  12: "other", // SOCK
};

/** AF_NETLINK. */
export const AF_NETLINK = 16;
/** SOCK_RAW. */
export const SOCK_RAW = 3;
/** SOCK_NONBLOCK. */
export const SOCK_NONBLOCK = 0o4000;
/** SOCK_CLOEXEC. */
export const SOCK_CLOEXEC = 0o2000000;
/** MSG_DONTWAIT. */
export const MSG_DONTWAIT = 0x40;
/** MSG_TRUNC: recv returns the real length of a longer datagram. */
export const MSG_TRUNC = 0x20;
/** SOL_SOCKET. */
export const SOL_SOCKET = 1;
/** SO_RCVBUF. */
export const SO_RCVBUF = 8;
/** SO_RCVBUFFORCE (root: above rmem_max). */
export const SO_RCVBUFFORCE = 33;
/** POLLIN. */
export const POLLIN = 0x1;
/** CLONE_NEWNET: a network namespace (setns). */
export const CLONE_NEWNET = 0x40000000;

/** finit_module(2) syscall numbers per architecture. */
const SYS_FINIT_MODULE: Readonly<Record<string, bigint>> = {
  x86_64: 313n,
  aarch64: 273n,
};

/** Options of {@linkcode Libc.finitModuleFd}. */
export interface FinitOptions {
  /** Whether the module is in already (asked only when the load failed). */
  alreadyIn?: () => boolean;
}

/** finit_module flag: the file is compressed (.ko.xz/.ko.zst/.ko.gz). */
export const MODULE_INIT_COMPRESSED_FILE = 4;

/**
 * The few libc calls Bronze needs, through Deno FFI (`--allow-ffi`). Every
 * call checks its result and throws a {@linkcode SyscallError} naming what
 * failed. Nothing here blocks the event loop: sockets are non-blocking and
 * {@linkcode Libc.poll} waits on Deno's blocking pool with a timeout.
 */
export class Libc implements Disposable {
  #lib: Deno.DynamicLibrary<typeof SYMBOLS>;
  #encoder = new TextEncoder();

  private constructor(lib: Deno.DynamicLibrary<typeof SYMBOLS>) {
    this.#lib = lib;
  }

  /** Opens libc (`libc.so.6` unless `path` names another). */
  static open(path: string = LIBC_PATH): Libc {
    return new Libc(openCLibrary(path, SYMBOLS));
  }

  /** The calling thread's errno (valid right after a failed synchronous call). */
  errno(): number {
    return threadErrno(this.#lib.symbols.__errno_location);
  }

  /** socket(2). */
  socket(domain: number, type: number, protocol: number): number {
    const fd = this.#lib.symbols.socket(domain, type, protocol);
    if (fd < 0) {
      throw new SyscallError(
        `socket(${domain}, ${type}, ${protocol}) failed`,
        this.errno(),
      );
    }
    return fd;
  }

  /** bind(2) with a raw sockaddr. */
  bind(fd: number, addr: Uint8Array): void {
    if (this.#lib.symbols.bind(fd, addr, addr.length) < 0) {
      throw new SyscallError(`bind(fd ${fd}) failed`, this.errno());
    }
  }

  /** getsockname(2) into a buffer of the sockaddr's size; returns its length. */
  getsockname(fd: number, addr: Uint8Array): number {
    const len = new Uint32Array([addr.length]);
    if (
      this.#lib.symbols.getsockname(fd, addr, new Uint8Array(len.buffer)) < 0
    ) {
      throw new SyscallError(`getsockname(fd ${fd}) failed`, this.errno());
    }
    return len[0];
  }

  /** setsockopt(2) with a 32-bit integer value. */
  setsockoptInt(fd: number, level: number, name: number, value: number): void {
    const v = new Int32Array([value]);
    if (
      this.#lib.symbols.setsockopt(
        fd,
        level,
        name,
        new Uint8Array(v.buffer),
        4,
      ) < 0
    ) {
      throw new SyscallError(
        `setsockopt(fd ${fd}, level ${level}, option ${name}) failed`,
        this.errno(),
      );
    }
  }

  /** sendto(2) of one whole datagram to `addr`. */
  sendto(fd: number, data: Uint8Array, addr: Uint8Array): void {
    for (let attempt = 0; attempt < 8; attempt++) {
      const n = this.#lib.symbols.sendto(
        fd,
        data,
        BigInt(data.length),
        0,
        addr,
        addr.length,
      );
      if (n >= 0n) {
        if (Number(n) !== data.length) {
          throw new Error(
            `sendto(fd ${fd}) sent ${n} of ${data.length} bytes`,
          );
        }
        return;
      }
      const e = this.errno();
      if (e !== EINTR) {
        throw new SyscallError(`sendto(fd ${fd}) failed`, e);
      }
    }
    throw new SyscallError(`sendto(fd ${fd}) failed`, EINTR);
  }

  /**
   * recv(2) without waiting (MSG_DONTWAIT). Returns the datagram's full
   * length (MSG_TRUNC, so a value above `buf.length` means it was cut), or
   * undefined when nothing is queued.
   */
  recvNow(fd: number, buf: Uint8Array, flags = 0): number | undefined {
    for (let attempt = 0; attempt < 8; attempt++) {
      const n = this.#lib.symbols.recv(
        fd,
        buf,
        BigInt(buf.length),
        flags | MSG_DONTWAIT | MSG_TRUNC,
      );
      if (n >= 0n) return Number(n);
      const e = this.errno();
      if (e === EAGAIN) return undefined;
      if (e !== EINTR) throw new SyscallError(`recv(fd ${fd}) failed`, e);
    }
    return undefined;
  }

  /**
   * Like {@linkcode Libc.recvNow}, also filling `from` with the sender's
   * socket address (e.g. sockaddr_nl, whose port id 0 is the kernel).
   */
  recvFromNow(
    fd: number,
    buf: Uint8Array,
    from: Uint8Array,
  ): number | undefined {
    const len = new Uint32Array([from.length]);
    for (let attempt = 0; attempt < 8; attempt++) {
      const n = this.#lib.symbols.recvfrom(
        fd,
        buf,
        BigInt(buf.length),
        MSG_DONTWAIT | MSG_TRUNC,
        from,
        new Uint8Array(len.buffer),
      );
      if (n >= 0n) return Number(n);
      const e = this.errno();
      if (e === EAGAIN) return undefined;
      if (e !== EINTR) throw new SyscallError(`recvfrom(fd ${fd}) failed`, e);
    }
    return undefined;
  }

  /**
   * Waits up to `timeoutMs` for `fd` to be readable, off the event loop.
   * Returns true when readable (or in error: the next recv reports it).
   */
  async pollIn(fd: number, timeoutMs: number): Promise<boolean> {
    const pfd = new Uint8Array(8);
    const view = new DataView(pfd.buffer);
    view.setInt32(0, fd, true);
    view.setInt16(4, POLLIN, true);
    const ms = Math.max(0, Math.min(2 ** 31 - 1, Math.floor(timeoutMs)));
    const n = await this.#lib.symbols.poll(pfd, 1n, ms);
    // errno of a call on the blocking pool is not ours to read; a failed
    // poll (EINTR) counts as "not yet", and the caller's loop is bounded.
    return n > 0 && view.getInt16(6, true) !== 0;
  }

  /** close(2); errors are ignored (the descriptor is gone either way). */
  close(fd: number): void {
    this.#lib.symbols.close(fd);
  }

  /**
   * Opens a file read-only (O_CLOEXEC) and returns the raw descriptor;
   * `nonBlocking` adds O_NONBLOCK (reads then answer "again" instead of
   * waiting, see {@linkcode Libc.readSome}).
   */
  openReadOnly(path: string, options: { nonBlocking?: boolean } = {}): number {
    const fd = this.#lib.symbols.open(
      this.#encoder.encode(path + "\0"),
      O_RDONLY | O_CLOEXEC | (options.nonBlocking ? O_NONBLOCK : 0),
      0,
    );
    if (fd < 0) {
      throw new SyscallError(
        `Cannot open ${JSON.stringify(path)}`,
        this.errno(),
      );
    }
    return fd;
  }

  /**
   * Runs synchronous `fn` with the calling thread inside the network
   * namespace at `path` (e.g. /run/netns/NAME), then switches back. Sockets
   * made by `fn` stay in that namespace. Needs CAP_SYS_ADMIN.
   */
  inNetworkNamespace<T>(path: string, fn: () => T): T {
    const own = this.openReadOnly("/proc/thread-self/ns/net");
    try {
      const target = this.openReadOnly(path);
      try {
        if (this.#lib.symbols.setns(target, CLONE_NEWNET) < 0) {
          throw new SyscallError(
            `Cannot enter network namespace ${JSON.stringify(path)}`,
            this.errno(),
          );
        }
      } finally {
        this.close(target);
      }
      let result: T | undefined;
      let failure: { error: unknown } | undefined;
      try {
        result = fn();
      } catch (error) {
        failure = { error };
      }
      if (this.#lib.symbols.setns(own, CLONE_NEWNET) < 0) {
        // The thread would stay in the wrong namespace: nothing after this
        // could be trusted.
        throw new SyscallError(
          "Cannot return to the original network namespace",
          this.errno(),
        );
      }
      if (failure) throw failure.error;
      return result as T;
    } finally {
      this.close(own);
    }
  }

  /**
   * One read(2) into `buf`: the bytes read (0 at the end), or "again" when a
   * non-blocking descriptor has nothing yet. Other failures throw a
   * SyscallError with the errno (EPIPE from /dev/kmsg: a record was lost).
   */
  readSome(fd: number, buf: Uint8Array): number | "again" {
    for (let round = 0; round < 100; round++) {
      const n = this.#lib.symbols.read(fd, buf, BigInt(buf.length));
      if (n >= 0n) return Number(n);
      const e = this.errno();
      if (e === EAGAIN) return "again";
      if (e !== EINTR) throw new SyscallError(`Cannot read fd ${fd}`, e);
    }
    return "again";
  }

  /**
   * statfs(2) of a mounted path: its size and what an unprivileged user may
   * still use, in bytes. Synchronous (a local file system answers at once;
   * callers skip network file systems, which may not).
   */
  statfs(path: string): FsSpace {
    // struct statfs (glibc, 64-bit): f_type, f_bsize, f_blocks, f_bfree,
    // f_bavail, ... each 8 bytes; 120 bytes in all.
    const buf = new BigUint64Array(15);
    const r = this.#lib.symbols.statfs(
      this.#encoder.encode(path + "\0"),
      new Uint8Array(buf.buffer),
    );
    if (r < 0) {
      throw new SyscallError(
        `statfs(${JSON.stringify(path)}) failed`,
        this.errno(),
      );
    }
    const bsize = buf[1];
    return {
      size: Number(bsize * buf[2]),
      free: Number(bsize * buf[3]),
      available: Number(bsize * buf[4]),
    };
  }

  /**
   * Reads a whole (small) file through libc: open, read, close. For paths
   * Deno's own file APIs refuse without --allow-all (/sys, /proc); a file
   * longer than `maxBytes` (default 64 KiB) is an error.
   */
  readFile(path: string, options: { maxBytes?: number } = {}): Uint8Array {
    const max = options.maxBytes ?? 64 * 1024;
    const fd = this.openReadOnly(path);
    try {
      const out = new Uint8Array(max + 1);
      let len = 0;
      // Bounded: every round reads at least one byte or ends.
      for (let round = 0; round <= max + 1; round++) {
        const n = this.#lib.symbols.read(
          fd,
          out.subarray(len),
          BigInt(out.length - len),
        );
        if (n < 0n) {
          const e = this.errno();
          if (e === EINTR) continue;
          throw new SyscallError(`Cannot read ${JSON.stringify(path)}`, e);
        }
        if (n === 0n) break;
        len += Number(n);
        if (len > max) {
          throw new Error(
            `Cannot read ${JSON.stringify(path)}: longer than ${max} bytes`,
          );
        }
      }
      return out.slice(0, len);
    } finally {
      this.close(fd);
    }
  }

  /**
   * Lists a directory through libc (opendir/readdir), without "." and "..".
   * The type comes from d_type ("unknown" where the file system has none).
   */
  readDir(path: string): DirEntry[] {
    const dir = this.#lib.symbols.opendir(this.#encoder.encode(path + "\0"));
    if (dir === null) {
      throw new SyscallError(
        `Cannot list ${JSON.stringify(path)}`,
        this.errno(),
      );
    }
    try {
      const out: DirEntry[] = [];
      for (let i = 0; i < 1_000_000; i++) {
        const ent = this.#lib.symbols.readdir(dir);
        if (ent === null) break;
        const view = new Deno.UnsafePointerView(ent);
        const name = view.getCString(DIRENT_NAME_OFFSET);
        if (name === "." || name === "..") continue;
        out.push({
          name,
          type: DT_NAMES[view.getUint8(DIRENT_TYPE_OFFSET)] ?? "unknown",
        });
      }
      return out;
    } finally {
      this.#lib.symbols.closedir(dir);
    }
  }

  /** sethostname(2). */
  sethostname(name: string): void {
    const bytes = this.#encoder.encode(name);
    if (this.#lib.symbols.sethostname(bytes, BigInt(bytes.length)) < 0) {
      throw new SyscallError(
        `Cannot set hostname to ${JSON.stringify(name)}`,
        this.errno(),
      );
    }
  }

  /**
   * glibc's malloc_trim(0): gives the free memory inside the C heap back to
   * the kernel. Deno's own allocations (V8's compiler zones, I/O buffers)
   * come from glibc malloc, and a start-up peak leaves megabytes free but
   * resident; nothing else returns them. Returns whether any was released.
   */
  mallocTrim(): boolean {
    return this.#lib.symbols.malloc_trim(0n) === 1;
  }

  /**
   * Opens a kernel module file for {@linkcode Libc.finitModuleFd}: the raw
   * descriptor (O_CLOEXEC). Throws a SyscallError naming the file.
   */
  openModule(path: string): number {
    const fd = this.#lib.symbols.open(
      this.#encoder.encode(path + "\0"),
      O_RDONLY | O_CLOEXEC,
      0,
    );
    if (fd < 0) {
      throw new SyscallError(
        `Cannot open module ${JSON.stringify(path)}`,
        this.errno(),
      );
    }
    return fd;
  }

  #finitArgs(path: string, params: string): [bigint, Uint8Array, bigint] {
    const nr = SYS_FINIT_MODULE[Deno.build.arch];
    if (nr === undefined) {
      throw new Error(
        `Cannot load module ${
          JSON.stringify(path)
        }: finit_module is unknown on ${Deno.build.arch}`,
      );
    }
    const flags = /\.ko\.(xz|zst|gz)$/.test(path)
      ? MODULE_INIT_COMPRESSED_FILE
      : 0;
    return [nr, this.#encoder.encode(params + "\0"), BigInt(flags)];
  }

  /** Loads a kernel module file with finit_module(2) (root, image mode). */
  finitModule(path: string, options: { params?: string } = {}): void {
    const [nr, params, flags] = this.#finitArgs(path, options.params ?? "");
    const fd = this.openModule(path);
    try {
      if (this.#lib.symbols.syscall(nr, BigInt(fd), params, flags) < 0n) {
        throw new SyscallError(
          `Cannot load module ${JSON.stringify(path)}`,
          this.errno(),
        );
      }
    } finally {
      this.close(fd);
    }
  }

  /**
   * finit_module(2) of the module file open at `fd` (named `path`) on Deno's
   * blocking pool: the event loop goes on while the kernel loads it. The
   * caller closes `fd`. A failure that `options.alreadyIn()` explains (the
   * module is in: another load of it won) is none. errno belongs to the
   * pool's thread, so any other failure is asked again here, on this thread,
   * for its reason.
   */
  async finitModuleFd(
    fd: number,
    path: string,
    options: FinitOptions = {},
  ): Promise<void> {
    const [nr, params, flags] = this.#finitArgs(path, "");
    const r = await this.#lib.symbols.syscall_nb(nr, BigInt(fd), params, flags);
    if (r >= 0n || options.alreadyIn?.()) return;
    if (this.#lib.symbols.syscall(nr, BigInt(fd), params, flags) >= 0n) return;
    throw new SyscallError(
      `Cannot load module ${JSON.stringify(path)}`,
      this.errno(),
    );
  }

  /** {@linkcode Libc.finitModule} on Deno's blocking pool. */
  async finitModuleAsync(
    path: string,
    options: FinitOptions = {},
  ): Promise<void> {
    const fd = this.openModule(path);
    try {
      await this.finitModuleFd(fd, path, options);
    } finally {
      this.close(fd);
    }
  }

  /** Unloads the library. */
  [Symbol.dispose](): void {
    this.#lib.close();
  }
}
