/**
 * Raw channels to the apids of other nodes, leased one call at a time.
 *
 * Each target gets its own connections for unary calls and for streams, so
 * long-lived streams never hold the slots short calls need. A connection
 * carries at most `callsPerConnection` calls (50 streams or 100 unary
 * calls), below the peer's HTTP/2 limit (apid allows 128): when every
 * connection of a kind is full, another is opened, up to `maxConnections`;
 * past that, calls wait here, in a queue they leave cleanly when cancelled. Nothing ever waits inside HTTP/2 for a
 * stream slot: a stream cancelled while queued there, or many cancelled at
 * once beside new ones on one Deno HTTP/2 session, can end unrelated calls
 * on it ("Call cancelled", "Session closed with error code 2").
 *
 * A connection is dropped only when its own state says it is broken; one
 * call failing (even UNAVAILABLE) never ends another's. The pool is rebuilt
 * when the client certificate changes (old connections close after a grace
 * so calls in flight finish).
 * @module
 */
import type * as grpc from "@grpc/grpc-js";
import { ApiError } from "../api_error/mod.ts";
import { RawChannel } from "./raw_client.ts";
import type { ClientTls } from "./tls.ts";

/** Which connections a call goes on. */
export type CallKind = "unary" | "stream";

/** Options of a {@linkcode ChannelPool}. */
export interface ChannelPoolOptions {
  /** The port every target listens on. */
  port: number;
  /** Client TLS to dial `target` with (see {@linkcode clientTls}). */
  tls(target: string): ClientTls;
  /** Largest message in bytes (default 16 MiB). */
  maxMessageBytes?: number;
  /** How long replaced channels stay open for calls in flight (default 30 s). */
  retireGraceMs?: number;
  /**
   * Most calls on one connection, by kind (default unary 100, stream 50;
   * keep below the peer's 128).
   */
  callsPerConnection?: Partial<Record<CallKind, number>>;
  /** Most connections per target and kind (default unary 4, stream 32). */
  maxConnections?: Partial<Record<CallKind, number>>;
  /** An extra connection with no call is closed after this (default 60 s). */
  idleCloseMs?: number;
  /** grpc-js channel options laid over the pool's own (e.g. backoff). */
  channelOptions?: grpc.ChannelOptions;
}

/** One call's use of a connection; release it when the call ends. */
export interface ChannelLease {
  /** The channel to make the call on. */
  channel: RawChannel;
  /** Gives the slot back (idempotent). */
  release(): void;
}

/** How many connections and calls a target has, by kind. */
export interface TargetUse {
  /** Open connections. */
  connections: number;
  /** Calls holding a slot. */
  active: number;
  /** Calls waiting for a slot. */
  waiting: number;
}

interface Slot {
  channel: RawChannel;
  active: number;
  idleTimer?: ReturnType<typeof setTimeout>;
}

interface Waiter {
  grant(slot: Slot): void;
}

interface Lane {
  target: string;
  kind: CallKind;
  slots: Slot[];
  waiters: Waiter[];
}

const DEFAULT_MAX_CONNECTIONS: Record<CallKind, number> = {
  unary: 4,
  stream: 32,
};
// Streams end in crowds (a client cancelling many at once): when about a
// hundred are reset together on one Deno HTTP/2 session, other calls on it
// can end with them ("Call cancelled"); fifty at once were not seen to.
const DEFAULT_CALLS_PER_CONNECTION: Record<CallKind, number> = {
  unary: 100,
  stream: 50,
};

/** Channels to other nodes, dialled on first use and leased per call. */
export class ChannelPool {
  #options: ChannelPoolOptions;
  #lanes = new Map<string, Lane>();
  #retiring = new Map<ReturnType<typeof setTimeout>, RawChannel[]>();
  #closed = false;

  /** Makes an empty pool. */
  constructor(options: ChannelPoolOptions) {
    this.#options = options;
  }

  /**
   * Leases a connection to `target` (a hostname or an IP address, no port)
   * for one call of `kind`; waits while every connection is full, and
   * rejects with Canceled if `signal` aborts first.
   */
  acquire(
    target: string,
    kind: CallKind,
    signal?: AbortSignal,
  ): Promise<ChannelLease> {
    if (this.#closed) {
      return Promise.reject(
        new ApiError("Unavailable", "apid is shutting down"),
      );
    }
    if (signal?.aborted) {
      return Promise.reject(new ApiError("Canceled", "call canceled"));
    }
    const key = `${kind} ${target}`;
    let lane = this.#lanes.get(key);
    if (!lane) {
      lane = { target, kind, slots: [], waiters: [] };
      this.#lanes.set(key, lane);
    }
    const slot = this.#freeSlot(lane);
    if (slot) return Promise.resolve(this.#lease(lane, slot));
    const l = lane;
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        grant: (s) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(this.#lease(l, s));
        },
      };
      const onAbort = () => {
        const i = l.waiters.indexOf(waiter);
        if (i >= 0) l.waiters.splice(i, 1);
        reject(new ApiError("Canceled", "call canceled"));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      l.waiters.push(waiter);
    });
  }

  /** Connections and calls to `target`, by kind (for tests and benches). */
  use(target: string): Record<CallKind, TargetUse> {
    const of = (kind: CallKind): TargetUse => {
      const lane = this.#lanes.get(`${kind} ${target}`);
      return {
        connections: lane?.slots.length ?? 0,
        active: lane?.slots.reduce((n, s) => n + s.active, 0) ?? 0,
        waiting: lane?.waiters.length ?? 0,
      };
    };
    return { unary: of("unary"), stream: of("stream") };
  }

  /** Forgets every channel (new credentials); old ones close after a grace. */
  renew(): void {
    const old: RawChannel[] = [];
    for (const lane of this.#lanes.values()) {
      for (const slot of lane.slots) {
        clearTimeout(slot.idleTimer);
        old.push(slot.channel);
      }
      // Calls in flight keep their leases on the old channels; new calls
      // and the waiters get new ones.
      lane.slots = [];
    }
    for (const lane of this.#lanes.values()) this.#dispatch(lane);
    if (old.length === 0) return;
    const timer = setTimeout(() => {
      this.#retiring.delete(timer);
      for (const ch of old) ch.close();
    }, this.#options.retireGraceMs ?? 30_000);
    this.#retiring.set(timer, old);
  }

  /** Closes every channel now; waiting calls fail. */
  close(): void {
    this.#closed = true;
    for (const [timer, old] of this.#retiring) {
      clearTimeout(timer);
      for (const ch of old) ch.close();
    }
    this.#retiring.clear();
    for (const lane of this.#lanes.values()) {
      for (const slot of lane.slots) {
        clearTimeout(slot.idleTimer);
        slot.channel.close();
      }
      lane.slots = [];
    }
    this.#lanes.clear();
  }

  /** A slot with room (opening a connection if allowed), or undefined. */
  #freeSlot(lane: Lane): Slot | undefined {
    this.#dropBroken(lane);
    const perConnection = this.#options.callsPerConnection?.[lane.kind] ??
      DEFAULT_CALLS_PER_CONNECTION[lane.kind];
    // Fill connections in turn rather than spread thin, so an extra one
    // empties and closes once the crowd is gone.
    const free = lane.slots.find((s) => s.active < perConnection);
    if (free) return free;
    const max = this.#options.maxConnections?.[lane.kind] ??
      DEFAULT_MAX_CONNECTIONS[lane.kind];
    if (lane.slots.length >= max) return undefined;
    const slot: Slot = { channel: this.#dial(lane.target), active: 0 };
    lane.slots.push(slot);
    return slot;
  }

  #lease(lane: Lane, slot: Slot): ChannelLease {
    slot.active++;
    clearTimeout(slot.idleTimer);
    slot.idleTimer = undefined;
    let released = false;
    return {
      channel: slot.channel,
      release: () => {
        if (released) return;
        released = true;
        slot.active--;
        if (!lane.slots.includes(slot)) return; // retired or closed
        this.#dropBroken(lane);
        if (lane.slots.includes(slot) && slot.active === 0) {
          this.#idle(lane, slot);
        }
        this.#dispatch(lane);
      },
    };
  }

  /** Hands free slots to waiting calls, in order. */
  #dispatch(lane: Lane): void {
    while (lane.waiters.length > 0) {
      const slot = this.#freeSlot(lane);
      if (!slot) return;
      lane.waiters.shift()!.grant(slot);
    }
  }

  /** Closes a lane's connections whose state says they are broken. */
  #dropBroken(lane: Lane): void {
    lane.slots = lane.slots.filter((slot) => {
      if (!slot.channel.broken) return true;
      clearTimeout(slot.idleTimer);
      // Calls still leasing it are failing with it; nothing alive ends here.
      slot.channel.close();
      return false;
    });
  }

  /** An extra connection that stays without calls is closed. */
  #idle(lane: Lane, slot: Slot): void {
    if (lane.slots[0] === slot) return;
    slot.idleTimer = setTimeout(() => {
      slot.idleTimer = undefined;
      if (slot.active > 0) return;
      const i = lane.slots.indexOf(slot);
      if (i > 0) {
        lane.slots.splice(i, 1);
        slot.channel.close();
      }
    }, this.#options.idleCloseMs ?? 60_000);
  }

  #dial(target: string): RawChannel {
    const host = target.includes(":") ? `[${target}]` : target;
    const max = this.#options.maxMessageBytes ?? 16 * 1024 * 1024;
    const tls = this.#options.tls(target);
    return new RawChannel(`${host}:${this.#options.port}`, tls.credentials, {
      channelOptions: {
        ...tls.channelOptions,
        "grpc.max_receive_message_length": max,
        "grpc.max_send_message_length": max,
        "grpc.initial_reconnect_backoff_ms": 250,
        "grpc.max_reconnect_backoff_ms": 2000,
        "grpc.keepalive_time_ms": 30_000,
        "grpc.keepalive_timeout_ms": 10_000,
        "grpc.client_idle_timeout_ms": 300_000,
        ...this.#options.channelOptions,
      },
    });
  }
}
