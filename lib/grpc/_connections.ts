/**
 * The TLS connections of a grpc-js server, tracked so that it can close them
 * without HTTP/2 GOAWAY. A Deno grpc-js peer that receives a GOAWAY (grpc-js
 * sends one on idle timeout, tryShutdown and forceShutdown) can crash in
 * nghttp2 ("find_stream_on_goaway_func: Assertion `stream->closed_next ==
 * NULL' failed", or a segfault), about one time in three here. Closing the
 * socket instead ends the peer's calls with UNAVAILABLE, which it survives.
 * @module
 */
import type * as grpc from "@grpc/grpc-js";

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

/** Options of {@linkcode trackConnections}. */
export interface TrackConnectionsOptions {
  /** Close a connection that makes no call within this (ms); never if unset. */
  idleTimeoutMs?: number;
  /** Called for connections refused during TLS (for logs). */
  onTlsError?: (message: string) => void;
}

/** The tracked connections of one server. */
export interface TrackedConnections {
  /** Closes every connection at the socket (no GOAWAY). */
  destroyAll(): void;
}

function keyOf(s: SocketLike | undefined): string {
  return `${s?.remoteAddress}|${s?.remotePort}`;
}

/**
 * Tracks a bound grpc-js server's TLS connections: closes sockets whose TLS
 * failed (Deno reports a handshake timeout without closing), optionally
 * those that never make a call, and all of them on `destroyAll()`.
 */
export function trackConnections(
  server: grpc.Server,
  options: TrackConnectionsOptions = {},
): TrackedConnections {
  const sockets = new Map<string, SocketLike>();
  const idleTimers = new Map<string, ReturnType<typeof setTimeout>>();
  const http2Servers = (server as unknown as {
    http2Servers?: Map<SecureServerLike, unknown>;
  }).http2Servers;
  for (const http2Server of http2Servers?.keys() ?? []) {
    http2Server.on("tlsClientError", (err, socket) => {
      options.onTlsError?.(err.message);
      socket.destroy();
    });
    http2Server.on("secureConnection", (socket) => {
      const key = keyOf(socket);
      sockets.set(key, socket);
      if (options.idleTimeoutMs !== undefined) {
        idleTimers.set(
          key,
          setTimeout(() => socket.destroy(), options.idleTimeoutMs),
        );
      }
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
  return {
    destroyAll() {
      for (const t of idleTimers.values()) clearTimeout(t);
      idleTimers.clear();
      for (const s of sockets.values()) s.destroy();
      sockets.clear();
    },
  };
}
