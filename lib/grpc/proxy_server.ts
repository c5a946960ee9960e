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

/** A socket as the TLS server hands it out. */
interface SocketLike {
  remoteAddress?: string;
  remotePort?: number;
  destroy(): void;
  once(event: "close", listener: () => void): void;
}

/** The events of grpc-js's http2 secure server this listens to. */
interface SecureServerLike {
  on(
    event: "tlsClientError",
    listener: (err: Error, socket: SocketLike) => void,
  ): void;
  on(event: "secureConnection", listener: (socket: SocketLike) => void): void;
  on(
    event: "stream",
    listener: (stream: { session?: { socket?: SocketLike } }) => void,
  ): void;
}

function keyOf(s: SocketLike | undefined): string {
  return `${s?.remoteAddress}|${s?.remotePort}`;
}

/** A running gRPC server serving one raw service. */
export class ProxyServer {
  #server: grpc.Server;
  #port: number;
  #service: RawService;
  #sockets: Map<string, SocketLike>;
  #idleTimers: Map<string, ReturnType<typeof setTimeout>>;

  private constructor(
    server: grpc.Server,
    port: number,
    service: RawService,
    sockets: Map<string, SocketLike>,
    idleTimers: Map<string, ReturnType<typeof setTimeout>>,
  ) {
    this.#server = server;
    this.#port = port;
    this.#service = service;
    this.#sockets = sockets;
    this.#idleTimers = idleTimers;
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
    const sockets = new Map<string, SocketLike>();
    const idleTimers = new Map<string, ReturnType<typeof setTimeout>>();
    const idleMs = options.idleTimeoutMs ?? 30_000;
    const http2Servers = (server as unknown as {
      http2Servers?: Map<SecureServerLike, unknown>;
    }).http2Servers;
    for (const http2Server of http2Servers?.keys() ?? []) {
      // Deno reports a handshake timeout (and other TLS failures) without
      // closing the socket: close it, so a silent client cannot hold it.
      http2Server.on("tlsClientError", (err, socket) => {
        options.onTlsError?.(err.message);
        socket.destroy();
      });
      http2Server.on("secureConnection", (socket) => {
        const key = keyOf(socket);
        sockets.set(key, socket);
        idleTimers.set(key, setTimeout(() => socket.destroy(), idleMs));
        socket.once("close", () => {
          clearTimeout(idleTimers.get(key));
          idleTimers.delete(key);
          sockets.delete(key);
        });
      });
      http2Server.on("stream", (stream) => {
        const key = keyOf(stream.session?.socket);
        clearTimeout(idleTimers.get(key));
        idleTimers.delete(key);
      });
    }
    return new ProxyServer(server, port, service, sockets, idleTimers);
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
    for (const t of this.#idleTimers.values()) clearTimeout(t);
    this.#idleTimers.clear();
    for (const s of this.#sockets.values()) s.destroy();
    this.#sockets.clear();
    this.#server.forceShutdown();
  }
}
