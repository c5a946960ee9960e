/**
 * TLS material for gRPC servers and clients: server credentials whose
 * certificate can be replaced while the server runs (rotation without
 * dropping calls), and client channel credentials that verify the CA and a
 * DNS name from the server certificate even when dialing an IP.
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import { nodeBuffer } from "../node_builtins/mod.ts";
import {
  checkTlsMaterial,
  NODE_SERVER_NAME,
  tlsContextOptions,
  type TlsMaterial,
} from "../certdir/mod.ts";

/**
 * Server credentials whose certificate, key and CA can be replaced at any
 * time: new handshakes use the new material, established connections (and
 * the calls on them) carry on.
 */
export class RotatingServerCredentials extends grpc.ServerCredentials {
  #requireClientCert: boolean;

  /** Makes credentials; `requireClientCert` turns on mutual TLS. */
  constructor(material: TlsMaterial, requireClientCert: boolean) {
    checkTlsMaterial(material);
    super(
      {
        requestCert: requireClientCert,
        rejectUnauthorized: requireClientCert,
      },
      tlsContextOptions(material),
    );
    this.#requireClientCert = requireClientCert;
  }

  /** Replaces the material for new handshakes; throws (keeping the old) if unusable. */
  update(material: TlsMaterial): void {
    checkTlsMaterial(material);
    this.updateSecureContextOptions(tlsContextOptions(material));
  }

  /** grpc-js identity check: each instance is its own credentials. */
  _equals(other: grpc.ServerCredentials): boolean {
    return other === this;
  }

  /** Whether clients must present a certificate. */
  get requireClientCert(): boolean {
    return this.#requireClientCert;
  }
}

/** Client TLS: the CA to trust, an optional client certificate, the name to verify. */
export interface ClientTlsOptions {
  /** CA certificate (PEM) the server's certificate must chain to. */
  ca: string;
  /** Client certificate (PEM), for mutual TLS. */
  cert?: string;
  /** Client key (PEM), with `cert`. */
  key?: string;
  /**
   * The DNS name to verify in the server certificate. grpc-js refuses an IP
   * as TLS server name, so IP targets need one: NODE_SERVER_NAME by default.
   */
  serverName?: string;
  /**
   * Encrypt but do not verify the server at all (`ca` is ignored): only for
   * a node in maintenance mode, whose certificate is made at boot (Talos's
   * `--insecure`). Never combine with a client certificate.
   */
  insecureSkipVerify?: boolean;
}

/** What a channel needs: credentials plus the channel options that go with them. */
export interface ClientTls {
  /** Channel credentials. */
  credentials: grpc.ChannelCredentials;
  /** Channel options (the TLS name override). */
  channelOptions: grpc.ChannelOptions;
}

/** Builds client channel credentials and options from PEM material. */
export function clientTls(options: ClientTlsOptions): ClientTls {
  if ((options.cert === undefined) !== (options.key === undefined)) {
    throw new Error("Cannot build client TLS: cert and key go together");
  }
  if (options.insecureSkipVerify) {
    if (options.cert !== undefined) {
      throw new Error(
        "Cannot build client TLS: no client certificate to an unverified server",
      );
    }
    const name = options.serverName ?? NODE_SERVER_NAME;
    return {
      credentials: grpc.credentials.createSsl(null, null, null, {
        rejectUnauthorized: false,
      }),
      channelOptions: {
        "grpc.ssl_target_name_override": name,
        "grpc.default_authority": name,
      },
    };
  }
  const Buffer = nodeBuffer();
  const credentials = grpc.credentials.createSsl(
    Buffer.from(options.ca),
    options.key === undefined ? null : Buffer.from(options.key),
    options.cert === undefined ? null : Buffer.from(options.cert),
  );
  const name = options.serverName ?? NODE_SERVER_NAME;
  return {
    credentials,
    channelOptions: {
      "grpc.ssl_target_name_override": name,
      "grpc.default_authority": name,
    },
  };
}
