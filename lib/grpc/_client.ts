/**
 * A grpc-js client whose close() ends its connections at the socket, never
 * with an HTTP/2 GOAWAY. grpc-js closes a channel's sessions gracefully, and
 * that GOAWAY can crash the Deno peer that receives it (see _connections.ts):
 * osctl closing its channel could take apid down. Each connection's socket
 * is recorded as the channel's credentials make it, and destroyed first on
 * close; the session's own close then has nothing left to write to.
 * @module
 */
import * as grpc from "@grpc/grpc-js";

/** The part of a socket this needs. */
interface SocketLike {
  destroy(): void;
  once(event: "close", listener: () => void): void;
}

/** grpc-js's internal connector: wraps a TCP socket in TLS (or not). */
interface SecureConnectorLike {
  connect(socket: unknown): Promise<{ socket: SocketLike; secure: boolean }>;
}

/** The internal factory grpc-js (1.13+) asks channel credentials for. */
interface ConnectorFactory {
  _createSecureConnector(...args: unknown[]): SecureConnectorLike;
}

/**
 * Credentials that behave as `credentials` and add each connection's
 * socket to `sockets` (removed again when it closes).
 */
function socketRecordingCredentials(
  credentials: grpc.ChannelCredentials,
  sockets: Set<SocketLike>,
): grpc.ChannelCredentials {
  const factory = credentials as unknown as ConnectorFactory;
  if (typeof factory._createSecureConnector !== "function") {
    throw new Error(
      "Cannot open a channel: this grpc-js has no _createSecureConnector, so its connections could not be closed without GOAWAY",
    );
  }
  const recording = Object.create(credentials) as ConnectorFactory;
  recording._createSecureConnector = (...args: unknown[]) => {
    const inner = factory._createSecureConnector(...args);
    const outer = Object.create(inner) as SecureConnectorLike;
    outer.connect = async (socket: unknown) => {
      const result = await inner.connect(socket);
      sockets.add(result.socket);
      result.socket.once("close", () => sockets.delete(result.socket));
      return result;
    };
    return outer;
  };
  return recording as unknown as grpc.ChannelCredentials;
}

/** A grpc-js client whose close() destroys its sockets first (no GOAWAY). */
export class SocketClosingClient extends grpc.Client {
  #sockets: Set<SocketLike>;

  /** Opens a client to `address` (lazily) with a private subchannel pool. */
  constructor(
    address: string,
    credentials: grpc.ChannelCredentials,
    channelOptions: grpc.ChannelOptions = {},
  ) {
    const sockets = new Set<SocketLike>();
    super(address, socketRecordingCredentials(credentials, sockets), {
      // A private subchannel pool: closing the channel really closes its
      // connection (the shared pool keeps reconnecting for a while).
      "grpc.use_local_subchannel_pool": 1,
      ...channelOptions,
    });
    this.#sockets = sockets;
  }

  /** Destroys every connection's socket, then closes the client. */
  override close(): void {
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
    super.close();
  }
}
