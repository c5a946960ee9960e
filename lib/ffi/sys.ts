/**
 * The system calls of an init (the initramfs init, the probe, machined as
 * PID 1) that {@linkcode Libc} does not offer, through Deno FFI on glibc:
 * mount, umount2, chroot, chdir, open, close, ioctl, sync, reboot,
 * waitpid, clock_gettime. Each call throws a SyscallError naming what failed
 * and the errno.
 * @module
 */

import {
  LIBC_PATH,
  O_CLOEXEC,
  O_RDONLY,
  openCLibrary,
  threadErrno,
} from "./_c_library.ts";
import { SyscallError } from "./errno.ts";

export { O_CLOEXEC, O_RDONLY };

const SYMBOLS = {
  mount: {
    parameters: ["buffer", "buffer", "buffer", "u64", "buffer"],
    result: "i32",
  },
  umount2: { parameters: ["buffer", "i32"], result: "i32" },
  chroot: { parameters: ["buffer"], result: "i32" },
  chdir: { parameters: ["buffer"], result: "i32" },
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  ioctl_ptr: {
    name: "ioctl",
    parameters: ["i32", "u64", "buffer"],
    result: "i32",
  },
  ioctl_int: {
    name: "ioctl",
    parameters: ["i32", "u64", "u64"],
    result: "i32",
  },
  sync: { parameters: [], result: "void" },
  reboot: { parameters: ["i32"], result: "i32" },
  waitpid: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

/** mount(2) flags. */
export const MS_RDONLY = 1;
/** Do not update access times. */
export const MS_NOATIME = 1024;
/** Remount an existing mount. */
export const MS_REMOUNT = 32;
/** Bind mount. */
export const MS_BIND = 4096;
/** Move a mount. */
export const MS_MOVE = 8192;
/** No set-uid bits honoured. */
export const MS_NOSUID = 2;
/** No device nodes honoured. */
export const MS_NODEV = 4;
/** No execution. */
export const MS_NOEXEC = 8;
/** umount2: detach lazily. */
export const MNT_DETACH = 2;
/** open(2): read-write. */
export const O_RDWR = 2;
/** reboot(2): power off. */
export const RB_POWER_OFF = 0x4321fedc;
/** reboot(2): restart. */
export const RB_AUTOBOOT = 0x01234567;
/** reboot(2): Ctrl-Alt-Del sends SIGINT to PID 1 instead of rebooting. */
export const RB_DISABLE_CAD = 0;
/** waitpid(2): do not wait. */
export const WNOHANG = 1;
/** errno: no child processes. */
export const ECHILD = 10;
/** errno: busy. */
export const EBUSY = 16;
/** errno: read-only file system. */
export const EROFS = 30;

const CLOCK_MONOTONIC = 1;

const encoder = new TextEncoder();

function cstr(s: string): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(s.length * 3 + 1);
  const { written } = encoder.encodeInto(s, b);
  return b.subarray(0, written + 1);
}

/** The system calls of the init and the probe (`--allow-ffi`). */
export class Sys implements Disposable {
  #lib: Deno.DynamicLibrary<typeof SYMBOLS>;

  private constructor(lib: Deno.DynamicLibrary<typeof SYMBOLS>) {
    this.#lib = lib;
  }

  /** Opens glibc. */
  static open(path: string = LIBC_PATH): Sys {
    return new Sys(openCLibrary(path, SYMBOLS));
  }

  /** The calling thread's errno. */
  errno(): number {
    return threadErrno(this.#lib.symbols.__errno_location);
  }

  #check(ret: number | bigint, what: string): number {
    if (Number(ret) < 0) throw new SyscallError(`${what} failed`, this.errno());
    return Number(ret);
  }

  /** mount(2); `source`/`fstype`/`data` may be null. */
  mount(
    source: string | null,
    target: string,
    fstype: string | null,
    flags: number,
    data: string | null = null,
  ): void {
    this.#check(
      this.#lib.symbols.mount(
        source === null ? null : cstr(source),
        cstr(target),
        fstype === null ? null : cstr(fstype),
        BigInt(flags),
        data === null ? null : cstr(data),
      ),
      `mount(${JSON.stringify(source)}, ${JSON.stringify(target)}, ${
        JSON.stringify(fstype)
      }, 0x${flags.toString(16)})`,
    );
  }

  /** umount2(2). */
  umount(target: string, flags = 0): void {
    this.#check(
      this.#lib.symbols.umount2(cstr(target), flags),
      `umount2(${JSON.stringify(target)})`,
    );
  }

  /** chroot(2). */
  chroot(path: string): void {
    this.#check(
      this.#lib.symbols.chroot(cstr(path)),
      `chroot(${JSON.stringify(path)})`,
    );
  }

  /** chdir(2). */
  chdir(path: string): void {
    this.#check(
      this.#lib.symbols.chdir(cstr(path)),
      `chdir(${JSON.stringify(path)})`,
    );
  }

  /** open(2); returns the fd. */
  open(path: string, flags: number): number {
    return this.#check(
      this.#lib.symbols.open(cstr(path), flags, 0),
      `open(${JSON.stringify(path)})`,
    );
  }

  /** close(2). */
  close(fd: number): void {
    this.#check(this.#lib.symbols.close(fd), `close(${fd})`);
  }

  /** ioctl(2) with a pointer argument. */
  ioctlPtr(fd: number, request: number, arg: Uint8Array<ArrayBuffer>): number {
    return this.#check(
      this.#lib.symbols.ioctl_ptr(fd, BigInt(request), arg),
      `ioctl(${fd}, 0x${request.toString(16)})`,
    );
  }

  /** ioctl(2) with an integer argument. */
  ioctlInt(fd: number, request: number, arg = 0): number {
    return this.#check(
      this.#lib.symbols.ioctl_int(fd, BigInt(request), BigInt(arg)),
      `ioctl(${fd}, 0x${request.toString(16)}, ${arg})`,
    );
  }

  /** sync(2). */
  sync(): void {
    this.#lib.symbols.sync();
  }

  /** reboot(2) with an RB_* command; returns only by throwing. */
  reboot(cmd: number): never {
    this.#lib.symbols.reboot(cmd);
    throw new SyscallError(
      `reboot(0x${cmd.toString(16)}) failed`,
      this.errno(),
    );
  }

  /** reboot(2) with a command that returns (e.g. RB_DISABLE_CAD). */
  rebootCommand(cmd: number): void {
    this.#check(
      this.#lib.symbols.reboot(cmd),
      `reboot(0x${cmd.toString(16)})`,
    );
  }

  /**
   * waitpid(pid, WNOHANG): reaps `pid` if it has exited. Returns the exit
   * status word, or undefined when it has not exited yet or is not our child.
   */
  reapNow(pid: number): number | undefined {
    const status = new Int32Array(1);
    const r = this.#lib.symbols.waitpid(
      pid,
      new Uint8Array(status.buffer),
      WNOHANG,
    );
    if (r > 0) return status[0];
    if (r === 0) return undefined;
    const e = this.errno();
    if (e === ECHILD) return undefined;
    throw new SyscallError(`waitpid(${pid})`, e);
  }

  /** Seconds since boot on the clock the kernel log uses (CLOCK_MONOTONIC). */
  uptime(): number {
    const ts = new BigInt64Array(2);
    this.#check(
      this.#lib.symbols.clock_gettime(
        CLOCK_MONOTONIC,
        new Uint8Array(ts.buffer),
      ),
      "clock_gettime",
    );
    return Number(ts[0]) + Number(ts[1]) / 1e9;
  }

  /** Closes the library. */
  [Symbol.dispose](): void {
    this.#lib.close();
  }
}
