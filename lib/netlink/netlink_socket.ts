import {
  AF_NETLINK,
  describeErrno,
  errnoName,
  Libc,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_RAW,
  SOL_SOCKET,
} from "../ffi/mod.ts";

/** SOL_NETLINK. */
const SOL_NETLINK = 270;
/** NETLINK_CAP_ACK: errors do not echo the whole request back. */
const NETLINK_CAP_ACK = 10;
/** NETLINK_EXT_ACK: errors carry the kernel's explanation. */
const NETLINK_EXT_ACK = 11;
const SOCKADDR_NL_LEN = 12;
/** How long one poll slice lasts, so an abort is noticed promptly. */
const POLL_SLICE_MS = 200;

/** A netlink request the kernel refused, with its errno and explanation. */
export class NetlinkError extends Error {
  /** The errno number. */
  readonly errno: number;
  /** The errno's symbolic name, e.g. "EEXIST". */
  readonly code: string;
  /** The kernel's extended-ACK text, when it gave one. */
  readonly kernelMessage: string | undefined;

  /** Makes "`what`: EEXIST (file exists): <kernel text>". */
  constructor(
    what: string,
    errno: number,
    kernelMessage?: string,
    options?: ErrorOptions,
  ) {
    super(
      `${what}: ${describeErrno(errno)}${
        kernelMessage ? `: ${kernelMessage}` : ""
      }`,
      options,
    );
    this.name = "NetlinkError";
    this.errno = errno;
    this.code = errnoName(errno);
    this.kernelMessage = kernelMessage;
  }
}

/** A datagram larger than the socket's buffer (it was dropped, not cut). */
export class DatagramTooLargeError extends Error {
  /** The datagram's real size in bytes. */
  readonly size: number;

  /** Makes the error for a datagram of `size` bytes and a `limit`-byte buffer. */
  constructor(size: number, limit: number, options?: ErrorOptions) {
    super(
      `Cannot receive netlink datagram: ${size} bytes exceed the ${limit}-byte buffer`,
      options,
    );
    this.name = "DatagramTooLargeError";
    this.size = size;
  }
}

/** Options for {@linkcode NetlinkSocket.open}. */
export interface NetlinkSocketOptions {
  /** Multicast groups bitmask to join at bind (uevents: 1). */
  groups?: number;
  /** SO_RCVBUF(FORCE) size in bytes. */
  receiveBufferBytes?: number;
  /** Largest datagram accepted, in bytes (default 256 KiB). */
  maxDatagramBytes?: number;
}

/** Options for {@linkcode NetlinkSocket.receive}. */
export interface ReceiveOptions {
  /** Give up after this long (ms) and return undefined. */
  timeoutMs: number;
  /** Stop waiting when aborted (returns undefined). */
  signal?: AbortSignal;
}

/**
 * A non-blocking netlink socket (AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC) that
 * never blocks the event loop: reads use MSG_DONTWAIT and waiting happens in
 * bounded poll(2) slices on Deno's blocking pool.
 */
export class NetlinkSocket implements Disposable {
  #libc: Libc;
  #fd: number;
  #buf: Uint8Array;
  #protocol: number;
  #portId = 0;

  private constructor(libc: Libc, fd: number, protocol: number, max: number) {
    this.#libc = libc;
    this.#fd = fd;
    this.#protocol = protocol;
    this.#buf = new Uint8Array(max);
  }

  /** Opens and binds a netlink socket of `protocol` (NETLINK_ROUTE = 0, ...). */
  static open(
    libc: Libc,
    protocol: number,
    options: NetlinkSocketOptions = {},
  ): NetlinkSocket {
    const fd = libc.socket(
      AF_NETLINK,
      SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
      protocol,
    );
    const sock = new NetlinkSocket(
      libc,
      fd,
      protocol,
      options.maxDatagramBytes ?? 256 * 1024,
    );
    try {
      if (options.receiveBufferBytes) {
        try {
          libc.setsockoptInt(
            fd,
            SOL_SOCKET,
            SO_RCVBUFFORCE,
            options.receiveBufferBytes,
          );
        } catch {
          // not root: the ordinary limit (rmem_max) applies
          libc.setsockoptInt(
            fd,
            SOL_SOCKET,
            SO_RCVBUF,
            options.receiveBufferBytes,
          );
        }
      }
      for (const opt of [NETLINK_CAP_ACK, NETLINK_EXT_ACK]) {
        try {
          libc.setsockoptInt(fd, SOL_NETLINK, opt, 1);
        } catch {
          // older kernels: plain errors without the kernel's text
        }
      }
      const addr = new Uint8Array(SOCKADDR_NL_LEN);
      const v = new DataView(addr.buffer);
      v.setUint16(0, AF_NETLINK, true);
      v.setUint32(8, options.groups ?? 0, true);
      libc.bind(fd, addr);
      const got = new Uint8Array(SOCKADDR_NL_LEN);
      libc.getsockname(fd, got);
      sock.#portId = new DataView(got.buffer).getUint32(4, true);
    } catch (cause) {
      libc.close(fd);
      throw new Error(`Cannot open netlink socket (protocol ${protocol})`, {
        cause,
      });
    }
    return sock;
  }

  /** The port id the kernel gave this socket. */
  get portId(): number {
    return this.#portId;
  }

  /** The netlink protocol of this socket. */
  get protocol(): number {
    return this.#protocol;
  }

  /** Sends one datagram to the kernel. */
  send(data: Uint8Array): void {
    if (this.#fd < 0) throw new Error("Cannot send: netlink socket is closed");
    const addr = new Uint8Array(SOCKADDR_NL_LEN);
    new DataView(addr.buffer).setUint16(0, AF_NETLINK, true);
    this.#libc.sendto(this.#fd, data, addr);
  }

  /**
   * Receives one datagram (a copy), or undefined after `timeoutMs` or on
   * abort. A datagram larger than the buffer is an error, not a silent cut.
   */
  async receive(options: ReceiveOptions): Promise<Uint8Array | undefined> {
    return (await this.receiveFrom(options))?.data;
  }

  /**
   * Like {@linkcode NetlinkSocket.receive}, with the sender's port id
   * (0: the kernel; anything else: a user-space process).
   */
  async receiveFrom(
    options: ReceiveOptions,
  ): Promise<{ data: Uint8Array; senderPort: number } | undefined> {
    const deadline = Date.now() + options.timeoutMs;
    const from = new Uint8Array(SOCKADDR_NL_LEN);
    // Bounded: each round either returns or waits one poll slice.
    for (let round = 0; round < 1_000_000; round++) {
      if (this.#fd < 0) {
        throw new Error("Cannot receive: netlink socket is closed");
      }
      const n = this.#libc.recvFromNow(this.#fd, this.#buf, from);
      if (n !== undefined) {
        if (n > this.#buf.length) {
          throw new DatagramTooLargeError(n, this.#buf.length);
        }
        return {
          data: this.#buf.slice(0, n),
          senderPort: new DataView(from.buffer).getUint32(4, true),
        };
      }
      const left = deadline - Date.now();
      if (left <= 0 || options.signal?.aborted) return undefined;
      await this.#libc.pollIn(this.#fd, Math.min(left, POLL_SLICE_MS));
    }
    return undefined;
  }

  /** Closes the socket (idempotent). */
  close(): void {
    if (this.#fd >= 0) {
      this.#libc.close(this.#fd);
      this.#fd = -1;
    }
  }

  /** Closes the socket. */
  [Symbol.dispose](): void {
    this.close();
  }
}
