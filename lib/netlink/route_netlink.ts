import type { Libc } from "../ffi/mod.ts";
import {
  type NetlinkMessage,
  NetlinkParseError,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
  NLMSG_OVERRUN,
  parseAck,
  parseMessages,
} from "./netlink_message.ts";
import { NetlinkError, NetlinkSocket } from "./netlink_socket.ts";
import {
  type AddressChange,
  addressRequest,
  type AddressStatus,
  dumpRequest,
  type LinkChange,
  type LinkStatus,
  NETLINK_ROUTE,
  parseAddressMessage,
  parseLinkMessage,
  parseRouteMessage,
  type RouteChange,
  routeRequest,
  type RouteStatus,
  RTM_GETADDR,
  RTM_GETLINK,
  RTM_GETROUTE,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTM_NEWROUTE,
  setLinkRequest,
} from "./rtnetlink.ts";
import { formatIp } from "../netaddr/mod.ts";

/** NLM_F_DUMP_INTR: the dump changed while it was read; read it again. */
const NLM_F_DUMP_INTR = 0x10;
const DUMP_ATTEMPTS = 3;
const MAX_DUMP_MESSAGES = 1_000_000;

/** Options for {@linkcode RouteNetlink.open}. */
export interface RouteNetlinkOptions {
  /** How long one request may wait for the kernel (ms); default 5000. */
  timeoutMs?: number;
  /** Open the socket inside this network namespace (e.g. /run/netns/NAME). */
  netnsPath?: string;
}

/**
 * A NETLINK_ROUTE client: dumps links, addresses and routes, and changes
 * them with acknowledged requests. Requests are serialised on one socket.
 */
export class RouteNetlink implements Disposable {
  #sock: NetlinkSocket;
  #seq: number;
  #timeoutMs: number;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(sock: NetlinkSocket, timeoutMs: number) {
    this.#sock = sock;
    this.#timeoutMs = timeoutMs;
    this.#seq = (Date.now() & 0x7fffffff) >>> 0;
  }

  /**
   * Opens a NETLINK_ROUTE socket (needs --allow-ffi), in the current network
   * namespace or the one at `options.netnsPath`.
   */
  static open(libc: Libc, options: RouteNetlinkOptions = {}): RouteNetlink {
    const make = () =>
      NetlinkSocket.open(libc, NETLINK_ROUTE, {
        receiveBufferBytes: 1024 * 1024,
      });
    const sock = options.netnsPath
      ? libc.inNetworkNamespace(options.netnsPath, make)
      : make();
    return new RouteNetlink(sock, options.timeoutMs ?? 5000);
  }

  /** Every link (RTM_GETLINK dump). */
  links(): Promise<LinkStatus[]> {
    return this.#dump(RTM_GETLINK, RTM_NEWLINK, "links", parseLinkMessage);
  }

  /** Every IPv4 and IPv6 address (RTM_GETADDR dump). */
  addresses(): Promise<AddressStatus[]> {
    return this.#dump(
      RTM_GETADDR,
      RTM_NEWADDR,
      "addresses",
      parseAddressMessage,
    );
  }

  /** Every IPv4 and IPv6 route of every table (RTM_GETROUTE dump). */
  routes(): Promise<RouteStatus[]> {
    return this.#dump(RTM_GETROUTE, RTM_NEWROUTE, "routes", parseRouteMessage);
  }

  /** Brings a link up or down and/or sets its MTU. */
  setLink(change: LinkChange): Promise<void> {
    const what = [
      change.up === undefined ? "" : change.up ? "up" : "down",
      change.mtu === undefined ? "" : `mtu ${change.mtu}`,
    ].filter(Boolean).join(", ");
    return this.#ack(
      (seq) => setLinkRequest(change, seq),
      `Cannot set link ${change.index} ${what}`,
    );
  }

  /** Adds an address (fails with EEXIST when it is there). */
  addAddress(change: AddressChange): Promise<void> {
    return this.#ack(
      (seq) => addressRequest("add", change, seq),
      `Cannot add address ${
        formatIp(change.bytes)
      }/${change.prefix} to link ${change.index}`,
    );
  }

  /** Deletes an address. */
  deleteAddress(change: AddressChange): Promise<void> {
    return this.#ack(
      (seq) => addressRequest("delete", change, seq),
      `Cannot delete address ${
        formatIp(change.bytes)
      }/${change.prefix} from link ${change.index}`,
    );
  }

  /** Adds a route (fails with EEXIST when it is there). */
  addRoute(change: RouteChange): Promise<void> {
    return this.#ack(
      (seq) => routeRequest("add", change, seq),
      `Cannot add route ${describeRoute(change)}`,
    );
  }

  /** Deletes a route. */
  deleteRoute(change: RouteChange): Promise<void> {
    return this.#ack(
      (seq) => routeRequest("delete", change, seq),
      `Cannot delete route ${describeRoute(change)}`,
    );
  }

  /** Closes the socket. */
  close(): void {
    this.#sock.close();
  }

  /** Closes the socket. */
  [Symbol.dispose](): void {
    this.close();
  }

  #nextSeq(): number {
    this.#seq = (this.#seq + 1) & 0x7fffffff;
    return this.#seq;
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => {});
    return run;
  }

  #dump<T>(
    request: typeof RTM_GETLINK | typeof RTM_GETADDR | typeof RTM_GETROUTE,
    reply: number,
    what: string,
    parse: (payload: Uint8Array) => T | undefined,
  ): Promise<T[]> {
    return this.#serial(async () => {
      for (let attempt = 1; attempt <= DUMP_ATTEMPTS; attempt++) {
        const seq = this.#nextSeq();
        this.#sock.send(
          dumpRequest(request, seq),
        );
        const out: T[] = [];
        let interrupted = false;
        await this.#collect(seq, `Cannot dump ${what}`, (msg) => {
          if (msg.type === NLMSG_DONE) return true;
          if (msg.flags & NLM_F_DUMP_INTR) interrupted = true;
          if (msg.type !== reply) return false;
          try {
            const v = parse(msg.payload);
            if (v !== undefined) out.push(v);
          } catch (cause) {
            throw new Error(`Cannot dump ${what}`, { cause });
          }
          if (out.length > MAX_DUMP_MESSAGES) {
            throw new Error(
              `Cannot dump ${what}: more than ${MAX_DUMP_MESSAGES} entries`,
            );
          }
          return false;
        });
        if (!interrupted) return out;
      }
      throw new Error(
        `Cannot dump ${what}: the kernel interrupted the dump ${DUMP_ATTEMPTS} times`,
      );
    });
  }

  #ack(build: (seq: number) => Uint8Array, what: string): Promise<void> {
    return this.#serial(async () => {
      const seq = this.#nextSeq();
      this.#sock.send(build(seq));
      // NLMSG_ERROR is handled by #collect (errno 0 = ACK ends it).
      await this.#collect(seq, what, () => false);
    });
  }

  /**
   * Reads datagrams until `onMessage` says done or an ACK arrives for `seq`;
   * an error for `seq` throws a NetlinkError naming `what`.
   */
  async #collect(
    seq: number,
    what: string,
    onMessage: (msg: NetlinkMessage) => boolean,
  ): Promise<void> {
    const deadline = Date.now() + this.#timeoutMs;
    while (true) {
      const left = deadline - Date.now();
      const got = left > 0
        ? await this.#sock.receiveFrom({ timeoutMs: left })
        : undefined;
      if (!got) {
        throw new Error(
          `${what}: no answer from the kernel within ${this.#timeoutMs} ms`,
        );
      }
      // Only the kernel (port 0) answers; anything else is spoofed.
      if (got.senderPort !== 0) continue;
      const data = got.data;
      let messages: NetlinkMessage[];
      try {
        messages = parseMessages(data);
      } catch (cause) {
        throw new Error(what, { cause });
      }
      for (const msg of messages) {
        // Answers to earlier, abandoned requests are skipped.
        if (msg.seq !== seq) continue;
        if (msg.type === NLMSG_NOOP) continue;
        if (msg.type === NLMSG_OVERRUN) {
          throw new NetlinkParseError(`${what}: netlink overrun`);
        }
        if (msg.type === NLMSG_ERROR) {
          const ack = parseAck(msg);
          if (ack.errno === 0) return;
          throw new NetlinkError(what, ack.errno, ack.message);
        }
        if (onMessage(msg)) return;
      }
    }
  }
}

function describeRoute(c: RouteChange): string {
  const dst = `${formatIp(c.dstBytes)}/${c.dstPrefix}`;
  const via = c.gateway ? ` via ${formatIp(c.gateway)}` : "";
  const dev = c.oif ? ` dev ${c.oif}` : "";
  const metric = c.priority !== undefined ? ` metric ${c.priority}` : "";
  return `${dst}${via}${dev}${metric}`;
}
