/**
 * A gRPC client channel that sends and receives raw bytes: apid uses it to
 * forward calls to other nodes' apids, osctl to call apid (it encodes and
 * decodes with the generated codecs). Failures are ApiErrors carrying the
 * gRPC status.
 * @module
 */
import type { Buffer } from "node:buffer";
import { nodeBuffer } from "../node_builtins/mod.ts";
import * as grpc from "@grpc/grpc-js";
import { ApiError } from "../api_error/mod.ts";
import { apiErrorOf as toApiError } from "./_status.ts";
import { SocketClosingClient } from "./_client.ts";

/** Per-call options. */
export interface RawCallOptions {
  /** Metadata to send (a list sends several values). */
  metadata?: Readonly<Record<string, string | readonly string[]>>;
  /** Deadline of the whole call in ms (streams: none when unset). */
  timeoutMs?: number;
  /** Cancels the call. */
  signal?: AbortSignal;
}

/** Options of a {@linkcode RawChannel}. */
export interface RawChannelOptions {
  /** grpc-js channel options (message sizes, keepalive, name override...). */
  channelOptions?: grpc.ChannelOptions;
}

const identity = (b: Buffer): Buffer => b;
const toBuffer = (b: Uint8Array): Buffer =>
  nodeBuffer().from(b.buffer, b.byteOffset, b.byteLength);

/** One client channel to one address, carrying raw protobuf bytes. */
export class RawChannel {
  #client: SocketClosingClient;
  #address: string;

  /** Opens a channel to "host:port" with the given credentials (lazily). */
  constructor(
    address: string,
    credentials: grpc.ChannelCredentials,
    options: RawChannelOptions = {},
  ) {
    this.#address = address;
    this.#client = new SocketClosingClient(
      address,
      credentials,
      options.channelOptions,
    );
  }

  /** The address this channel dials. */
  get address(): string {
    return this.#address;
  }

  /**
   * Whether the connection itself is broken: it failed to connect or was
   * lost and waits to redial (grpc-js TRANSIENT_FAILURE), or it is closed.
   * One call failing says nothing about this; only the channel's state does.
   */
  get broken(): boolean {
    const state = this.#client.getChannel().getConnectivityState(false);
    return state === grpc.connectivityState.TRANSIENT_FAILURE ||
      state === grpc.connectivityState.SHUTDOWN;
  }

  /** Makes a unary call; rejects with an ApiError. */
  unary(
    path: string,
    request: Uint8Array,
    options: RawCallOptions = {},
  ): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      if (options.signal?.aborted) {
        reject(new ApiError("Canceled", "call canceled"));
        return;
      }
      const call = this.#client.makeUnaryRequest<Buffer, Buffer>(
        path,
        identity,
        identity,
        toBuffer(request),
        toMetadata(options.metadata),
        callOptions(options),
        (err, reply) => {
          options.signal?.removeEventListener("abort", onAbort);
          if (err) reject(toApiError(err, this.#address));
          else resolve(new Uint8Array(reply ?? new Uint8Array(0)));
        },
      );
      const onAbort = () => call.cancel();
      options.signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /**
   * Opens a server stream; resolves when the server sent its headers (or a
   * first message, or ended), rejects if it fails before. Iterating reads
   * with flow control; breaking out or aborting cancels the call.
   */
  stream(
    path: string,
    request: Uint8Array,
    options: RawCallOptions = {},
  ): Promise<AsyncIterable<Uint8Array>> {
    if (options.signal?.aborted) {
      return Promise.reject(new ApiError("Canceled", "call canceled"));
    }
    const call = this.#client.makeServerStreamRequest<Buffer, Buffer>(
      path,
      identity,
      identity,
      toBuffer(request),
      toMetadata(options.metadata),
      callOptions(options),
    );
    const onAbort = () => call.cancel();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    const address = this.#address;
    // Pulled by the reader only: Readable's own buffer bounds read-ahead.
    let failure: ApiError | undefined;
    call.on("error", (err: grpc.ServiceError) => {
      failure = toApiError(err, address);
    });
    const iterable: AsyncIterable<Uint8Array> = {
      async *[Symbol.asyncIterator]() {
        try {
          for await (const chunk of call as AsyncIterable<Buffer>) {
            yield new Uint8Array(chunk);
          }
        } catch (err) {
          throw failure ?? toApiError(err, address);
        } finally {
          options.signal?.removeEventListener("abort", onAbort);
          call.cancel();
        }
        if (failure) throw failure;
      },
    };
    return new Promise((resolve, reject) => {
      const done = () => {
        call.off("metadata", onReady);
        call.off("readable", onReady);
        call.off("error", onError);
        call.off("end", onReady);
      };
      const onReady = () => {
        done();
        resolve(iterable);
      };
      const onError = (err: grpc.ServiceError) => {
        done();
        options.signal?.removeEventListener("abort", onAbort);
        reject(toApiError(err, address));
      };
      call.once("metadata", onReady);
      call.once("readable", onReady);
      call.once("end", onReady);
      call.once("error", onError);
    });
  }

  /** Closes the channel at its sockets (no GOAWAY); calls in flight fail. */
  close(): void {
    this.#client.close();
  }
}

function callOptions(options: RawCallOptions): grpc.CallOptions {
  return options.timeoutMs === undefined
    ? {}
    : { deadline: Date.now() + options.timeoutMs };
}

function toMetadata(
  record: RawCallOptions["metadata"],
): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const [key, value] of Object.entries(record ?? {})) {
    const values: readonly string[] = typeof value === "string"
      ? [value]
      : value;
    for (const v of values) md.add(key, v);
  }
  return md;
}
