/**
 * requestCertificate, loading the gRPC client (and grpc-js) only when a
 * worker first asks trustd: a control plane, which mints its own
 * certificates, never loads it.
 * @module
 */
import type {
  RequestCertificateOptions,
  TrustdCertificate,
} from "./trustd_client.ts";

/** Asks trustd to sign a CSR (see trustd_client.ts). */
export async function requestCertificate(
  csrPem: string,
  options: RequestCertificateOptions,
): Promise<TrustdCertificate> {
  const client = await import("./trustd_client.ts");
  return await client.requestCertificate(csrPem, options);
}
