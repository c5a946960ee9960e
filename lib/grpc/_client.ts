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

/** A grpc-js client and the close that goes with it. */
export interface ClosableClient {
  /** The client: make calls on it. */
  client: grpc.Client;
  /** Destroys every connection's socket, then closes the client. */
  close(): void;
}

/**
 * Credentials that behave as `credentials` and add each connection's
 * socket to `sockets` (removed again when it closes).
 */
export function socketRecordingCredentials(
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

/** Opens a grpc-js client to `address` that closes without GOAWAY. */
export function openClient(
  address: string,
  credentials: grpc.ChannelCredentials,
  channelOptions: grpc.ChannelOptions = {},
): ClosableClient {
  const sockets = new Set<SocketLike>();
  const client = new grpc.Client(
    address,
    socketRecordingCredentials(credentials, sockets),
    {
      // A private subchannel pool: closing the channel really closes its
      // connection (the shared pool keeps reconnecting for a while).
      "grpc.use_local_subchannel_pool": 1,
      ...channelOptions,
    },
  );
  return {
    client,
    close() {
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      client.close();
    },
  };
}
