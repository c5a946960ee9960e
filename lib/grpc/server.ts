/**
 * A gRPC server on one address with (m)TLS whose certificate can be rotated
 * while it serves, and an orderly close.
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import { RotatingServerCredentials, type TlsMaterial } from "./tls.ts";
import type { GrpcService } from "./typed_service.ts";

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

  private constructor(
    server: grpc.Server,
    credentials: RotatingServerCredentials,
    host: string,
    port: number,
  ) {
    this.#server = server;
    this.#credentials = credentials;
    this.#host = host;
    this.#port = port;
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
    for (const s of options.services) {
      server.addService(s.definition, s.implementation);
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
    return new GrpcServer(server, credentials, options.host, port);
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
   * cancels whatever is left.
   */
  async close(graceMs = 5000): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      new Promise<void>((resolve) => this.#server.tryShutdown(() => resolve())),
      new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          this.#server.forceShutdown();
          resolve();
        }, graceMs);
      }),
    ]);
    clearTimeout(timer);
  }
}
