/**
 * Bronze's door to the kernel through Deno FFI: a small libc binding (files,
 * sockets, modules, namespaces), errno, and the system calls of an init
 * (mount, reboot, waitpid...). Netlink is lib/netlink, over this.
 * @module
 */
export {
  describeErrno,
  EADDRNOTAVAIL,
  EEXIST,
  ENOBUFS,
  ENOENT,
  EPIPE,
  errnoName,
  ESRCH,
  SyscallError,
} from "./errno.ts";
export {
  AF_NETLINK,
  Libc,
  LIBC_PATH,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_RAW,
  SOL_SOCKET,
} from "./libc.ts";
export type { FinitOptions, FsSpace } from "./libc.ts";
export {
  EBUSY,
  ECHILD,
  EROFS,
  MNT_DETACH,
  MS_BIND,
  MS_MOVE,
  MS_NOATIME,
  MS_NODEV,
  MS_NOEXEC,
  MS_NOSUID,
  MS_RDONLY,
  MS_REMOUNT,
  O_CLOEXEC,
  O_RDONLY,
  O_RDWR,
  RB_AUTOBOOT,
  RB_DISABLE_CAD,
  RB_POWER_OFF,
  Sys,
  WNOHANG,
} from "./sys.ts";
export type { DirEntry } from "./libc.ts";
