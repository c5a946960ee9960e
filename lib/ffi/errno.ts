/** Linux errno numbers Bronze reports by name, with their usual meaning. */
const ERRNO: Readonly<Record<number, readonly [string, string]>> = {
  1: ["EPERM", "operation not permitted"],
  2: ["ENOENT", "no such file or directory"],
  3: ["ESRCH", "no such process"],
  4: ["EINTR", "interrupted system call"],
  5: ["EIO", "input/output error"],
  6: ["ENXIO", "no such device or address"],
  7: ["E2BIG", "argument list too long"],
  8: ["ENOEXEC", "exec format error"],
  9: ["EBADF", "bad file descriptor"],
  11: ["EAGAIN", "resource temporarily unavailable"],
  12: ["ENOMEM", "cannot allocate memory"],
  13: ["EACCES", "permission denied"],
  14: ["EFAULT", "bad address"],
  16: ["EBUSY", "device or resource busy"],
  17: ["EEXIST", "file exists"],
  19: ["ENODEV", "no such device"],
  20: ["ENOTDIR", "not a directory"],
  21: ["EISDIR", "is a directory"],
  22: ["EINVAL", "invalid argument"],
  23: ["ENFILE", "too many open files in system"],
  24: ["EMFILE", "too many open files"],
  28: ["ENOSPC", "no space left on device"],
  34: ["ERANGE", "numerical result out of range"],
  38: ["ENOSYS", "function not implemented"],
  61: ["ENODATA", "no data available"],
  71: ["EPROTO", "protocol error"],
  74: ["EBADMSG", "bad message"],
  75: ["EOVERFLOW", "value too large for defined data type"],
  90: ["EMSGSIZE", "message too long"],
  93: ["EPROTONOSUPPORT", "protocol not supported"],
  95: ["EOPNOTSUPP", "operation not supported"],
  97: ["EAFNOSUPPORT", "address family not supported by protocol"],
  98: ["EADDRINUSE", "address already in use"],
  99: ["EADDRNOTAVAIL", "cannot assign requested address"],
  100: ["ENETDOWN", "network is down"],
  101: ["ENETUNREACH", "network is unreachable"],
  105: ["ENOBUFS", "no buffer space available"],
  110: ["ETIMEDOUT", "connection timed out"],
  113: ["EHOSTUNREACH", "no route to host"],
  129: ["EKEYREJECTED", "key was rejected by service"],
};

/** EAGAIN: try again (a non-blocking call found nothing). */
export const EAGAIN = 11;
/** EPIPE: a reader of /dev/kmsg fell behind; the record it wanted is gone. */
export const EPIPE = 32;
/** EINTR: interrupted by a signal; retry. */
export const EINTR = 4;
/** EEXIST: already exists. */
export const EEXIST = 17;
/** ENOENT: no such entry. */
export const ENOENT = 2;
/** ENOBUFS: a netlink socket's receive queue overflowed. */
export const ENOBUFS = 105;
/** ESRCH: no such process (netlink: no such route). */
export const ESRCH = 3;
/** EADDRNOTAVAIL: no such address (netlink delete). */
export const EADDRNOTAVAIL = 99;

/** The symbolic name of an errno ("EEXIST"), or "errno N" when unknown. */
export function errnoName(errno: number): string {
  return ERRNO[errno]?.[0] ?? `errno ${errno}`;
}

/** "EEXIST (file exists)" for an errno number. */
export function describeErrno(errno: number): string {
  const e = ERRNO[errno];
  return e ? `${e[0]} (${e[1]})` : `errno ${errno}`;
}

/** A failed system call, with its errno. */
export class SyscallError extends Error {
  /** The errno number. */
  readonly errno: number;
  /** The errno's symbolic name, e.g. "EPERM". */
  readonly code: string;

  /** Makes an error "`what`: EPERM (operation not permitted)". */
  constructor(what: string, errno: number, options?: ErrorOptions) {
    super(`${what}: ${describeErrno(errno)}`, options);
    this.name = "SyscallError";
    this.errno = errno;
    this.code = errnoName(errno);
  }
}
