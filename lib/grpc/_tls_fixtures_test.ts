// Test fixtures for lib/grpc: a CA with node server and client certificates.
import { CertificateAuthority, type PemKeyPair } from "../pki/mod.ts";
import { NODE_SERVER_NAME } from "../certdir/mod.ts";

/** A CA plus one server and one admin client pair. */
export interface TestPki {
  ca: CertificateAuthority;
  server: PemKeyPair;
  client: PemKeyPair;
}

/** Makes a test PKI; server certs carry the fixed DNS SAN and 127.0.0.1. */
export async function testPki(ttlMs = 3600e3): Promise<TestPki> {
  const ca = await CertificateAuthority.create();
  return {
    ca,
    server: await serverPair(ca, ttlMs),
    client: await ca.issueKeyPair({
      commonName: "admin",
      organizations: ["os:admin", "os:reader"],
      usages: ["clientAuth"],
      ttlMs,
    }),
  };
}

/** A node server pair from `ca`. */
export function serverPair(
  ca: CertificateAuthority,
  ttlMs: number,
): Promise<PemKeyPair> {
  return ca.issueKeyPair({
    commonName: "node",
    dnsNames: [NODE_SERVER_NAME],
    ipAddresses: ["127.0.0.1"],
    usages: ["serverAuth"],
    ttlMs,
  });
}
