/**
 * TLS material (certificate, key, CA in PEM) and its check, without gRPC:
 * certificate folders are read and written by daemons that never load
 * grpc-js (machined on a control plane). lib/grpc re-exports these.
 * @module
 */
import type { SecureContextOptions } from "node:tls";
import { nodeBuffer, nodeCrypto, nodeTls } from "../node_builtins/mod.ts";

/** A certificate, its key and the CA that verifies peers; all PEM. */
export interface TlsMaterial {
  /** CA certificate(s) (PEM) that peers' certificates must chain to. */
  ca: string;
  /** Own certificate (PEM). */
  cert: string;
  /** Own private key (PEM). Secret. */
  key: string;
}

/** The DNS SAN every Bronze node server certificate carries (dial IPs with it). */
export const NODE_SERVER_NAME = "bronze-node";

/** node:tls secure-context options of TLS material. */
export function tlsContextOptions(m: TlsMaterial): SecureContextOptions {
  const Buffer = nodeBuffer();
  return {
    ca: Buffer.from(m.ca),
    cert: Buffer.from(m.cert),
    key: Buffer.from(m.key),
  };
}

/**
 * Checks that TLS material loads (key matches certificate, PEM parses) before
 * it is handed to a live server; throws an Error saying what failed.
 */
export function checkTlsMaterial(m: TlsMaterial): void {
  let matches: boolean;
  try {
    const { createPrivateKey, X509Certificate } = nodeCrypto();
    nodeTls().createSecureContext(tlsContextOptions(m));
    new X509Certificate(m.ca);
    const cert = new X509Certificate(m.cert);
    matches = cert.checkPrivateKey(createPrivateKey(m.key));
  } catch (cause) {
    throw new Error(
      "Cannot load TLS material: certificate, key or CA is unusable",
      { cause },
    );
  }
  if (!matches) {
    throw new Error(
      "Cannot load TLS material: the key does not match the certificate",
    );
  }
}
