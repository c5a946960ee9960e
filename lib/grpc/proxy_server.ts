/**
 * The network-facing gRPC server of a proxy: one raw service, mTLS
 * credentials from the caller, and the limits a public endpoint needs (max
 * message size, max concurrent streams per connection, a TLS handshake
 * timeout, an idle timeout, keepalive).
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import type { RawService } from "./raw_service.ts";

/** Limits of a {@linkcode ProxyServer}. */
export interface ProxyServerLimits {
  /** Largest request or reply message in bytes (default 16 MiB). */
  maxMessageBytes?: number;
  /** Most concurrent calls on one connection (default 128). */
  maxConcurrentStreams?: number;
  /** A connection must finish its TLS handshake within this (default 10 s). */
  handshakeTimeoutMs?: number;
  /** A connection with no call for this long is closed (default 60 s). */
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

interface SecureServerLike {
  on(
    event: "tlsClientError",
    listener: (err: Error, socket: { destroy(): void }) => void,
  ): void;
}

/** A running gRPC server serving one raw service. */
export class ProxyServer {
  #server: grpc.Server;
  #port: number;

  private constructor(server: grpc.Server, port: number) {
    this.#server = server;
    this.#port = port;
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
      "grpc.max_connection_idle_ms": options.idleTimeoutMs ?? 60_000,
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
    // closing the socket: close it, so a silent client cannot hold it.
    const http2Servers = (server as unknown as {
      http2Servers?: Map<SecureServerLike, unknown>;
    }).http2Servers;
    for (const http2Server of http2Servers?.keys() ?? []) {
      http2Server.on("tlsClientError", (err, socket) => {
        options.onTlsError?.(err.message);
        socket.destroy();
      });
    }
    return new ProxyServer(server, port);
  }

  /** The bound port. */
  get port(): number {
    return this.#port;
  }

  /**
   * Stops accepting, lets calls in flight finish for up to `graceMs`, then
   * closes every connection.
   */
  async stop(graceMs = 5000): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      new Promise<void>((resolve) => this.#server.tryShutdown(() => resolve())),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      }),
    ]);
    clearTimeout(timer);
    this.#server.forceShutdown();
  }
}
