/**
 * Typed unary calls over TLS channels, with generated method definitions
 * doing the encoding: callers get decoded replies or ApiErrors.
 * @module
 */
import type { Buffer } from "node:buffer";
import * as grpc from "@grpc/grpc-js";
import { ApiError } from "../api_error/mod.ts";
import { clientTls, type ClientTlsOptions } from "./tls.ts";
import { apiErrorOf } from "./_status.ts";
import { SocketClosingClient } from "./_client.ts";

/** The encoding half of a generated method definition. */
export interface ClientMethodLike<Req, Res> {
  /** "/pkg.Service/Method" */
  path: string;
  /** Request encoder. */
  requestSerialize(value: Req): Buffer;
  /** Response decoder. */
  responseDeserialize(bytes: Buffer): Res;
}

/** Options for {@linkcode openTlsChannel}. */
export interface TlsChannelOptions {
  /** Extra grpc-js channel options ("grpc.keepalive_time_ms", ...). */
  channelOptions?: Readonly<Record<string, string | number>>;
}

/** Per-call options. */
export interface UnaryCallOptions {
  /** Metadata to send (a list sends several values). */
  metadata?: Readonly<Record<string, string | readonly string[]>>;
  /** Deadline of the call in ms. */
  timeoutMs?: number;
  /** Cancels the call. */
  signal?: AbortSignal;
}

/** A client channel to one "host:port" over TLS. */
export class TlsChannel {
  #client: SocketClosingClient;
  #address: string;

  /** Opens the channel lazily: nothing is dialed before the first call. */
  constructor(
    address: string,
    tls: ClientTlsOptions,
    options: TlsChannelOptions = {},
  ) {
    const { credentials, channelOptions } = clientTls(tls);
    this.#address = address;
    this.#client = new SocketClosingClient(address, credentials, {
      ...options.channelOptions,
      ...channelOptions,
    });
  }

  /** The address this channel dials. */
  get address(): string {
    return this.#address;
  }

  /** Calls a unary method; rejects with an ApiError. */
  unary<Req, Res>(
    method: ClientMethodLike<Req, Res>,
    request: Req,
    options: UnaryCallOptions = {},
  ): Promise<Res> {
    return new Promise((resolve, reject) => {
      if (options.signal?.aborted) {
        reject(new ApiError("Canceled", "call canceled"));
        return;
      }
      const call = this.#client.makeUnaryRequest<Req, Res>(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        request,
        metadataOf(options),
        callOptionsOf(options),
        (err, reply) => {
          options.signal?.removeEventListener("abort", onAbort);
          if (err || reply === undefined) {
            reject(apiErrorOf(err ?? new Error("empty reply"), this.#address));
          } else resolve(reply);
        },
      );
      const onAbort = () => call.cancel();
      options.signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /**
   * Calls a server-streaming method; iterating yields replies, breaking out
   * or aborting cancels the call, failures throw ApiErrors.
   */
  async *stream<Req, Res>(
    method: ClientMethodLike<Req, Res>,
    request: Req,
    options: UnaryCallOptions = {},
  ): AsyncGenerator<Res> {
    if (options.signal?.aborted) {
      throw new ApiError("Canceled", "call canceled");
    }
    const call = this.#client.makeServerStreamRequest<Req, Res>(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      request,
      metadataOf(options),
      callOptionsOf(options),
    );
    const onAbort = () => call.cancel();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      for await (const reply of call as AsyncIterable<Res>) yield reply;
    } catch (err) {
      throw apiErrorOf(err, this.#address);
    } finally {
      options.signal?.removeEventListener("abort", onAbort);
      call.cancel();
    }
  }

  /** Closes the channel at its sockets (no GOAWAY). */
  close(): void {
    this.#client.close();
  }
}

function metadataOf(options: UnaryCallOptions): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(options.metadata ?? {})) {
    for (const one of typeof v === "string" ? [v] : v) md.add(k, one);
  }
  return md;
}

function callOptionsOf(options: UnaryCallOptions): grpc.CallOptions {
  return options.timeoutMs === undefined
    ? {}
    : { deadline: Date.now() + options.timeoutMs };
}
