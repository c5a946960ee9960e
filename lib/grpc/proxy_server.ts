/**
 * The network-facing gRPC server of a proxy: one raw service, mTLS
 * credentials from the caller, and the limits a public endpoint needs (max
 * message size, max concurrent streams per connection, a TLS handshake
 * timeout, a timeout for connections that never make a call, keepalive).
 *
 * It never sends HTTP/2 GOAWAY: a Deno grpc-js client that receives one
 * (grpc-js sends them on idle timeout and graceful shutdown) can crash in
 * nghttp2 ("find_stream_on_goaway_func: Assertion `stream->closed_next ==
 * NULL' failed", or a segfault), about one time in three here. So idle
 * connections are not timed out once they made a call, and stop() drains
 * calls, then closes the TLS sockets directly.
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import type { RawService } from "./raw_service.ts";
import { trackConnections, type TrackedConnections } from "./_connections.ts";

/** Limits of a {@linkcode ProxyServer}. */
export interface ProxyServerLimits {
  /** Largest request or reply message in bytes (default 16 MiB). */
  maxMessageBytes?: number;
  /** Most concurrent calls on one connection (default 128). */
  maxConcurrentStreams?: number;
  /** A connection must finish its TLS handshake within this (default 10 s). */
  handshakeTimeoutMs?: number;
  /** A connection that makes no call within this is closed (default 30 s). */
  idleTimeoutMs?: number;
  /** Keepalive ping period on connections (default 30 s). */
  keepaliveMs?: number;
}

/** Options of {@linkcode ProxyServer.start}. */
export interface ProxyServerOptions extends ProxyServerLimits {
  /** "host:port" to listen on (port 0 picks one). */
  address: string;
  /** Server credentials (mTLS, possibly rotating). */
  credentials: grpc.ServerCredentials;
  /** Called for connections refused during TLS (for logs). */
  onTlsError?: (message: string) => void;
}

/** A running gRPC server serving one raw service. */
export class ProxyServer {
  #server: grpc.Server;
  #port: number;
  #service: RawService;
  #connections: TrackedConnections;

  private constructor(
    server: grpc.Server,
    port: number,
    service: RawService,
    connections: TrackedConnections,
  ) {
    this.#server = server;
    this.#port = port;
    this.#service = service;
    this.#connections = connections;
  }

  /** Binds and starts serving; rejects if the address cannot be bound. */
  static async start(
    service: RawService,
    options: ProxyServerOptions,
  ): Promise<ProxyServer> {
    const maxMessage = options.maxMessageBytes ?? 16 * 1024 * 1024;
    const server = new grpc.Server({
      "grpc.max_receive_message_length": maxMessage,
      "grpc.max_send_message_length": maxMessage,
      "grpc.max_concurrent_streams": options.maxConcurrentStreams ?? 128,
      "grpc.keepalive_time_ms": options.keepaliveMs ?? 30_000,
      "grpc.keepalive_timeout_ms": 10_000,
    });
    server.addService(service.definition, service.implementation);
    // grpc-js passes the credentials' constructor options to the TLS server;
    // this is the only way in for Node's handshakeTimeout.
    const ctorOptions = (options.credentials as unknown as {
      _getConstructorOptions?: () => Record<string, unknown> | null;
    })._getConstructorOptions?.();
    if (ctorOptions) {
      ctorOptions.handshakeTimeout = options.handshakeTimeoutMs ?? 10_000;
    }
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(
        options.address,
        options.credentials,
        (err, port) => (err ? reject(err) : resolve(port)),
      )
    ).catch((cause) => {
      server.forceShutdown();
      throw new Error(`Cannot listen on ${options.address}`, { cause });
    });
    // Deno reports a handshake timeout (and other TLS failures) without
    // closing the socket: the tracker closes it, so a silent client cannot hold it.
    const connections = trackConnections(server, {
      idleTimeoutMs: options.idleTimeoutMs ?? 30_000,
      onTlsError: options.onTlsError,
    });
    return new ProxyServer(server, port, service, connections);
  }

  /** The bound port. */
  get port(): number {
    return this.#port;
  }

  /**
   * Refuses new calls, ends open streams, lets unary calls in flight finish
   * for up to `graceMs`, then closes every connection (without GOAWAY).
   */
  async stop(graceMs = 5000): Promise<void> {
    this.#service.gate.close();
    await this.#service.gate.drained(graceMs);
    // Let the last replies leave before the sockets close.
    await new Promise((r) => setTimeout(r, 50));
    this.#connections.destroyAll();
    this.#server.forceShutdown();
  }
}
