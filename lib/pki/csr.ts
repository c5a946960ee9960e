import { x509 } from "./_x509.ts";
import { type NameInfo, nameInfo, readExtensions } from "./certificate.ts";
import { keyAlgorithmOf, type KeyPair, signingAlgorithm } from "./keys.ts";
import { subjectAltNames, subjectName } from "./_names.ts";

/** What a CSR asks for. */
export interface CsrOptions {
  /** Subject CN. */
  commonName: string;
  /** Subject O values. */
  organizations?: string[];
  /** DNS SANs. */
  dnsNames?: string[];
  /** IP SANs. */
  ipAddresses?: string[];
  /** Ask for a CA (basicConstraints CA:TRUE): only to test that signers refuse it. */
  requestCa?: boolean;
}

/** Makes a PKCS#10 CSR (PEM) signed by `keys`. */
export async function createCsr(
  keys: KeyPair,
  options: CsrOptions,
): Promise<string> {
  const alg = keyAlgorithmOf(keys.privateKey);
  const extensions: x509.Extension[] = [];
  const sans = subjectAltNames(options.dnsNames, options.ipAddresses);
  if (sans) extensions.push(sans);
  if (options.requestCa) {
    extensions.push(new x509.BasicConstraintsExtension(true, undefined, true));
  }
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: subjectName(options.commonName, options.organizations),
    keys: keys as CryptoKeyPair,
    signingAlgorithm: signingAlgorithm(alg),
    extensions,
  });
  return csr.toString("pem") + "\n";
}

/** A parsed, signature-checked CSR. */
export interface CsrInfo {
  /** Requested subject. */
  subject: NameInfo;
  /** Requested DNS SANs. */
  dnsNames: string[];
  /** Requested IP SANs. */
  ipAddresses: string[];
  /** Whether the CSR asks for a CA (basicConstraints CA:TRUE or keyCertSign). */
  requestsCa: boolean;
  /** Requested extended key usages, if any. */
  extKeyUsages: string[];
  /** The public key to certify. */
  publicKey: CryptoKey;
}

/** Largest CSR accepted, in bytes of PEM. */
export const MAX_CSR_BYTES = 16 * 1024;

/**
 * Parses a PEM CSR and checks its self-signature; throws an Error saying what
 * is wrong (bad PEM, bad signature, unsupported key).
 */
export async function parseCsr(pem: string): Promise<CsrInfo> {
  if (pem.length > MAX_CSR_BYTES) {
    throw new Error(`Cannot parse CSR: larger than ${MAX_CSR_BYTES} bytes`);
  }
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(pem);
  } catch (cause) {
    throw new Error("Cannot parse CSR: not a PKCS#10 request", { cause });
  }
  let ok = false;
  try {
    ok = await csr.verify();
  } catch (cause) {
    throw new Error("Cannot verify CSR signature", { cause });
  }
  if (!ok) throw new Error("Cannot verify CSR signature: signature is invalid");
  const publicKey = await csr.publicKey.export();
  keyAlgorithmOf(publicKey);
  const ext = readExtensions(csr.extensions);
  return {
    subject: nameInfo(csr.subjectName),
    dnsNames: ext.dnsNames,
    ipAddresses: ext.ipAddresses,
    requestsCa: ext.isCa || ext.keyUsages.includes("keyCertSign") ||
      ext.keyUsages.includes("cRLSign"),
    extKeyUsages: ext.extKeyUsages,
    publicKey,
  };
}
