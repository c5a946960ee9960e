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
import type { RawMethod } from "../../lib/grpc/mod.ts";
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

/** Gives the channel to a target, and forgets a broken one. */
export interface ChannelSource {
  /** The (cached) channel to a target's apid. */
  channel(target: string): RawChannelLike;
  /** Drops a target's channel after a transport failure (next call redials). */
  evict(target: string): void;
}

/** Forwards calls to one other node's apid, as an os:impersonator. */
export class RemoteBackend implements Backend {
  #target: string;
  #channels: ChannelSource;
  #self: string;

  /** Makes a backend for `target`; `self` names this node to the other one. */
  constructor(target: string, channels: ChannelSource, self: string) {
    this.#target = target;
    this.#channels = channels;
    this.#self = self;
  }

  /** Forwards a unary call. */
  async unary(
    method: RawMethod,
    request: Uint8Array,
    options: BackendCallOptions,
  ): Promise<Uint8Array> {
    try {
      return await this.#channels.channel(this.#target).unary(
        method.path,
        request,
        {
          metadata: this.#metadata(options),
          timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
          signal: options.signal,
        },
      );
    } catch (err) {
      this.#onError(err);
      throw err;
    }
  }

  /** Forwards a server stream. */
  async stream(
    method: RawMethod,
    request: Uint8Array,
    options: BackendCallOptions,
  ): Promise<AsyncIterable<Uint8Array>> {
    try {
      return await this.#channels.channel(this.#target).stream(
        method.path,
        request,
        { metadata: this.#metadata(options), signal: options.signal },
      );
    } catch (err) {
      this.#onError(err);
      throw err;
    }
  }

  #metadata(origin: CallOrigin): Record<string, string> {
    return {
      [HEADER_ROLES]: origin.roles.join(","),
      [HEADER_CALLER]: origin.caller,
      [METADATA_PROXY_FROM]: this.#self,
    };
  }

  #onError(err: unknown): void {
    // A refused or reset connection: redial next time rather than wait out
    // grpc-js's reconnect backoff on a node that just came back.
    if (err instanceof ApiError && err.status === "Unavailable") {
      this.#channels.evict(this.#target);
    }
  }
}
