/**
 * A gRPC server on one address with (m)TLS whose certificate can be rotated
 * while it serves, and an orderly close.
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import { RotatingServerCredentials } from "./tls.ts";
import type { TlsMaterial } from "../certdir/mod.ts";
import type { GrpcService } from "./typed_service.ts";
import { trackConnections, type TrackedConnections } from "./_connections.ts";

/** Options for {@linkcode GrpcServer.start}. */
export interface GrpcServerOptions {
  /** Address to bind (an IP; IPv6 without brackets). */
  host: string;
  /** Port; 0 (default) picks a free one. */
  port?: number;
  /** Own certificate, key and the CA for client certificates. */
  tls: TlsMaterial;
  /** Mutual TLS: refuse clients without a certificate from `tls.ca`. */
  requireClientCert: boolean;
  /** The services to serve. */
  services: GrpcService[];
  /** Extra grpc-js server options (keepalive, message sizes...). */
  serverOptions?: grpc.ServerOptions;
}

/** A running gRPC server. */
export class GrpcServer {
  #server: grpc.Server;
  #credentials: RotatingServerCredentials;
  #port: number;
  #host: string;
  #connections: TrackedConnections;
  #gate: InFlight;

  private constructor(
    server: grpc.Server,
    credentials: RotatingServerCredentials,
    host: string,
    port: number,
    gate: InFlight,
  ) {
    this.#server = server;
    this.#credentials = credentials;
    this.#host = host;
    this.#port = port;
    this.#connections = trackConnections(server);
    this.#gate = gate;
  }

  /** Binds and starts serving; rejects if the address cannot be bound. */
  static async start(options: GrpcServerOptions): Promise<GrpcServer> {
    const credentials = new RotatingServerCredentials(
      options.tls,
      options.requireClientCert,
    );
    const server = new grpc.Server({
      "grpc.max_receive_message_length": 4 * 1024 * 1024,
      ...options.serverOptions,
    });
    const gate = new InFlight();
    for (const s of options.services) {
      server.addService(s.definition, gate.wrap(s.implementation));
    }
    const host = options.host.includes(":")
      ? `[${options.host}]`
      : options.host;
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(
        `${host}:${options.port ?? 0}`,
        credentials,
        (err, port) =>
          err
            ? reject(
              new Error(
                `Cannot bind gRPC server on ${host}:${options.port ?? 0}`,
                {
                  cause: err,
                },
              ),
            )
            : resolve(port),
      )
    );
    return new GrpcServer(server, credentials, options.host, port, gate);
  }

  /** The bound port. */
  get port(): number {
    return this.#port;
  }

  /** "host:port" as a client dials it. */
  get address(): string {
    const h = this.#host.includes(":") ? `[${this.#host}]` : this.#host;
    return `${h}:${this.#port}`;
  }

  /**
   * Replaces certificate, key and CA for new connections; calls in flight
   * and established connections are untouched. Throws (keeping the old
   * material) if the new one is unusable.
   */
  updateTls(material: TlsMaterial): void {
    this.#credentials.update(material);
  }

  /**
   * Stops accepting, lets calls in flight finish for up to `graceMs`, then
   * closes every connection at the socket: never an HTTP/2 GOAWAY, which
   * can crash a Deno grpc-js peer (see _connections.ts).
   */
  async close(graceMs = 5000): Promise<void> {
    this.#server.unbind(this.address);
    await this.#gate.drained(graceMs);
    this.#connections.destroyAll();
    this.#server.forceShutdown();
  }
}

/** Counts calls in flight across a server's handlers. */
class InFlight {
  #count = 0;
  #waiters: (() => void)[] = [];

  /** Wraps every handler so its calls are counted until they end. */
  wrap(
    impl: grpc.UntypedServiceImplementation,
  ): grpc.UntypedServiceImplementation {
    const out: grpc.UntypedServiceImplementation = {};
    for (const [name, handler] of Object.entries(impl)) {
      const fn = handler as (call: CallLike, callback?: Callback) => void;
      out[name] = ((call: CallLike, callback?: Callback) => {
        this.#count++;
        let done = false;
        const end = () => {
          if (done) return;
          done = true;
          if (--this.#count === 0) {
            for (const w of this.#waiters.splice(0)) w();
          }
        };
        if (callback) {
          return fn(call, (...args: unknown[]) => {
            end();
            callback(...args);
          });
        }
        call.once?.("finish", end);
        call.once?.("cancelled", end);
        call.once?.("error", end);
        return fn(call);
      }) as grpc.UntypedHandleCall;
    }
    return out;
  }

  /** Resolves when no call is in flight, or after `ms`. */
  drained(ms: number): Promise<void> {
    if (this.#count === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.#waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}

type Callback = (...args: unknown[]) => void;
interface CallLike {
  once?(event: string, listener: () => void): void;
}
