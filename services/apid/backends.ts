/**
 * Where apid sends a call: the local node over the bus (to the daemon that
 * owns the method), or another node's apid over mTLS gRPC. Both carry raw
 * protobuf bytes; the caller's roles and name travel with the call.
 * @module
 */
import type {
  BusHeaders,
  RequestOptions,
  StreamOptions,
} from "../../lib/bus/mod.ts";
import { ApiError } from "../../lib/api_error/mod.ts";
import {
  HEADER_CALLER,
  HEADER_ROLES,
  METADATA_PROXY_FROM,
  rpcSubject,
  streamSubject,
} from "../../lib/constants/mod.ts";
import type { CallKind, RawMethod } from "../../lib/grpc/mod.ts";
import { methodSpec } from "../../lib/api/mod.ts";

/** Who a forwarded or local call is made for. */
export interface CallOrigin {
  /** The caller's effective roles. */
  roles: readonly string[];
  /** The caller's certificate CN (for audit on the node that serves it). */
  caller: string;
}

/** Options of one backend call. */
export interface BackendCallOptions extends CallOrigin {
  /** Deadline in ms (streams: none). */
  timeoutMs?: number;
  /** Cancels the call. */
  signal: AbortSignal;
}

/** One place a call can be served. */
export interface Backend {
  /** A unary call: request bytes in, reply bytes out; fails with ApiError. */
  unary(
    method: RawMethod,
    request: Uint8Array,
    options: BackendCallOptions,
  ): Promise<Uint8Array>;
  /** Opens a server stream; resolves when the other end accepted it. */
  stream(
    method: RawMethod,
    request: Uint8Array,
    options: BackendCallOptions,
  ): Promise<AsyncIterable<Uint8Array>>;
}

/** The part of the bus the local backend uses. */
export interface BusLike {
  /** Unary request/reply. */
  request(
    subject: string,
    data: Uint8Array,
    options?: RequestOptions,
  ): Promise<Uint8Array>;
  /** Server stream with flow control. */
  openStream(
    subject: string,
    data: Uint8Array,
    options?: StreamOptions,
  ): AsyncGenerator<Uint8Array, void, undefined>;
}

const DEFAULT_TIMEOUT_MS = 5000;

/** Serves calls on this node: forwards the bytes to the owning daemon. */
export class LocalBackend implements Backend {
  #bus: BusLike;

  /** Makes a backend on this node's bus. */
  constructor(bus: BusLike) {
    this.#bus = bus;
  }

  /** Forwards a unary call to `<owner>.rpc.<Method>`. */
  unary(
    method: RawMethod,
    request: Uint8Array,
    options: BackendCallOptions,
  ): Promise<Uint8Array> {
    return this.#bus.request(
      rpcSubject(ownerOf(method), method.name),
      request,
      {
        timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        headers: busHeaders(options),
        signal: options.signal,
      },
    );
  }

  /** Opens `<owner>.stream.<Method>`. */
  stream(
    method: RawMethod,
    request: Uint8Array,
    options: BackendCallOptions,
  ): Promise<AsyncIterable<Uint8Array>> {
    const subject = streamSubject(ownerOf(method), method.name);
    return Promise.resolve(
      this.#bus.openStream(subject, request, {
        headers: busHeaders(options),
        signal: options.signal,
      }),
    );
  }
}

function ownerOf(method: RawMethod) {
  const owner = methodSpec(method.name)?.owner;
  if (!owner) {
    throw new ApiError(
      "Unimplemented",
      `method ${method.name} is not served on this node`,
    );
  }
  return owner;
}

function busHeaders(origin: CallOrigin): BusHeaders {
  return {
    [HEADER_ROLES]: origin.roles.join(","),
    [HEADER_CALLER]: origin.caller,
  };
}

/** A raw gRPC channel to another apid (see lib/grpc/raw_client.ts). */
export interface RawChannelLike {
  /** Unary call. */
  unary(
    path: string,
    request: Uint8Array,
    options?: {
      metadata?: Record<string, string>;
      timeoutMs?: number;
      signal?: AbortSignal;
    },
  ): Promise<Uint8Array>;
  /** Server stream, resolved when the server sent headers. */
  stream(
    path: string,
    request: Uint8Array,
    options?: {
      metadata?: Record<string, string>;
      timeoutMs?: number;
      signal?: AbortSignal;
    },
  ): Promise<AsyncIterable<Uint8Array>>;
}

/** One call's use of a connection to a target (see lib/grpc ChannelPool). */
export interface ChannelLeaseLike {
  /** The channel to call on. */
  channel: RawChannelLike;
  /** Gives the connection's slot back. */
  release(): void;
}

/**
 * Leases connections to targets, one call at a time; waits while they are
 * full and drops a connection only when the connection itself is broken.
 */
export interface ChannelSource {
  /** A connection to a target's apid for one call of `kind`. */
  acquire(
    target: string,
    kind: CallKind,
    signal?: AbortSignal,
  ): Promise<ChannelLeaseLike>;
}

/** Counts a caller's forwarded calls (see caller_limits.ts). */
export interface CallerLimitsLike {
  /** Counts one call; throws ResourceExhausted past the caller's limit. */
  take(
    caller: { name: string; roles: readonly string[] },
    target: string,
    kind: CallKind,
  ): () => void;
}

/** Forwards calls to one other node's apid, as an os:impersonator. */
export class RemoteBackend implements Backend {
  #target: string;
  #channels: ChannelSource;
  #self: string;
  #limits: CallerLimitsLike | undefined;

  /**
   * Makes a backend for `target`; `self` names this node to the other one;
   * `limits` bounds each caller's open calls to it.
   */
  constructor(
    target: string,
    channels: ChannelSource,
    self: string,
    limits?: CallerLimitsLike,
  ) {
    this.#target = target;
    this.#channels = channels;
    this.#self = self;
    this.#limits = limits;
  }

  /** Forwards a unary call. */
  async unary(
    method: RawMethod,
    request: Uint8Array,
    options: BackendCallOptions,
  ): Promise<Uint8Array> {
    const done = this.#take(options, "unary");
    try {
      const lease = await this.#channels.acquire(
        this.#target,
        "unary",
        options.signal,
      );
      try {
        return await lease.channel.unary(method.path, request, {
          metadata: this.#metadata(options),
          timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
          signal: options.signal,
        });
      } catch (err) {
        throw this.#clean(err);
      } finally {
        lease.release();
      }
    } finally {
      done();
    }
  }

  /**
   * Forwards a server stream. The caller's count and the connection's slot
   * are held until the stream ends, is abandoned or `signal` aborts.
   */
  async stream(
    method: RawMethod,
    request: Uint8Array,
    options: BackendCallOptions,
  ): Promise<AsyncIterable<Uint8Array>> {
    const done = this.#take(options, "stream");
    let release = done;
    const onAbort = () => release();
    options.signal.addEventListener("abort", onAbort, { once: true });
    try {
      const lease = await this.#channels.acquire(
        this.#target,
        "stream",
        options.signal,
      );
      release = () => {
        options.signal.removeEventListener("abort", onAbort);
        lease.release();
        done();
      };
      if (options.signal.aborted) {
        throw new ApiError("Canceled", "call canceled");
      }
      const messages = await lease.channel.stream(method.path, request, {
        metadata: this.#metadata(options),
        signal: options.signal,
      });
      const end = release;
      return {
        async *[Symbol.asyncIterator]() {
          try {
            yield* messages;
          } finally {
            end();
          }
        },
      };
    } catch (err) {
      release();
      throw this.#clean(err);
    }
  }

  /** Deno's permission text names its flags; the caller gets a status. */
  #clean(err: unknown): unknown {
    const text = err instanceof Error ? err.message : String(err);
    if (/Requires net access|--allow-net|NotCapable/i.test(text)) {
      return new ApiError(
        "Unavailable",
        `cannot reach ${this.#target}: this apid may not connect there`,
      );
    }
    return err;
  }

  #take(options: BackendCallOptions, kind: CallKind): () => void {
    return this.#limits?.take(
      { name: options.caller, roles: options.roles },
      this.#target,
      kind,
    ) ?? (() => {});
  }

  #metadata(origin: CallOrigin): Record<string, string> {
    return {
      [HEADER_ROLES]: origin.roles.join(","),
      [HEADER_CALLER]: origin.caller,
      [METADATA_PROXY_FROM]: this.#self,
    };
  }
}
