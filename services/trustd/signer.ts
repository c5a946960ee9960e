import { ApiError } from "../../lib/api_error/mod.ts";
import {
  type CertificateAuthority,
  type CsrInfo,
  parseCertificate,
  parseCsr,
} from "../../lib/pki/mod.ts";

/** Lifetime limits of certificates trustd issues. */
export interface SigningPolicy {
  /** Lifetime when the request names none (ms). */
  defaultTtlMs: number;
  /** Longest lifetime issued, whatever is asked (ms). */
  maxTtlMs: number;
  /** Shortest lifetime issued (ms). */
  minTtlMs: number;
}

/** What was issued, for the audit line. */
export interface Issued {
  /** The certificate, PEM. */
  crt: string;
  /** Subject CN. */
  commonName: string;
  /** DNS SANs. */
  dnsNames: string[];
  /** IP SANs. */
  ipAddresses: string[];
  /** Serial number (hex). */
  serial: string;
  /** End of validity. */
  notAfter: Date;
  /** Organizations the CSR asked for and did not get. */
  strippedOrganizations: string[];
}

/** Parses a CSR; InvalidArgument saying why when it cannot be read. */
export async function readCsr(csrPem: string): Promise<CsrInfo> {
  try {
    return await parseCsr(csrPem);
  } catch (err) {
    throw new ApiError(
      "InvalidArgument",
      `invalid CSR: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

/** The node a CSR is for: its subject CN, else its first SAN. */
export function csrIdentity(csr: CsrInfo): string {
  return csr.subject.commonName || csr.dnsNames[0] || csr.ipAddresses[0] ||
    "";
}

/**
 * Signs a node server CSR under trustd's policy (as Talos's trustd): only
 * keyUsage digitalSignature and extendedKeyUsage serverAuth, no
 * Organization (no one gets a role from trustd), never a CA, lifetime capped.
 * Throws InvalidArgument for a CSR it will not sign.
 */
export async function signServerCsr(
  ca: CertificateAuthority,
  csr: CsrInfo,
  options: { requestedTtlMs: number; policy: SigningPolicy },
): Promise<Issued> {
  if (csr.requestsCa) {
    throw new ApiError(
      "InvalidArgument",
      "CSR requests a CA certificate: refused",
    );
  }
  if (csr.dnsNames.length === 0 && csr.ipAddresses.length === 0) {
    throw new ApiError(
      "InvalidArgument",
      "CSR has no subject alternative names",
    );
  }
  const { policy } = options;
  const ttlMs = Math.max(
    policy.minTtlMs,
    Math.min(
      options.requestedTtlMs > 0 ? options.requestedTtlMs : policy.defaultTtlMs,
      policy.maxTtlMs,
    ),
  );
  const commonName = csr.subject.commonName ?? csr.dnsNames[0] ??
    csr.ipAddresses[0];
  const crt = await ca.issue(csr.publicKey, {
    commonName,
    dnsNames: csr.dnsNames,
    ipAddresses: csr.ipAddresses,
    usages: ["serverAuth"],
    ttlMs,
  });
  const info = await parseCertificate(crt);
  return {
    crt,
    commonName,
    dnsNames: csr.dnsNames,
    ipAddresses: csr.ipAddresses,
    serial: info.serialNumber,
    notAfter: info.notAfter,
    strippedOrganizations: csr.subject.organizations,
  };
}
