/**
 * Bronze's PKI: the OS CA, X.509 v3 leaf certificates for nodes and clients,
 * keys, CSRs and PEM, on Deno's WebCrypto through @peculiar/x509.
 * @module
 */
export { CA_TTL_MS, CertificateAuthority, CLOCK_SKEW_MS } from "./ca.ts";
export type {
  CreateCaOptions,
  IssuedKeyPair,
  IssueOptions,
  PemKeyPair,
} from "./ca.ts";
export {
  extKeyUsageOid,
  parseCertificate,
  verifyCertificate,
} from "./certificate.ts";
export type {
  CertificateInfo,
  ExtKeyUsage,
  NameInfo,
  VerifyOptions,
} from "./certificate.ts";
export { createCsr, MAX_CSR_BYTES, parseCsr } from "./csr.ts";
export type { CsrInfo, CsrOptions } from "./csr.ts";
export {
  DEFAULT_KEY_ALGORITHM,
  exportPrivateKeyPem,
  exportPublicKeyPem,
  generateKeyPair,
  importPrivateKeyPem,
  keyAlgorithmOf,
} from "./keys.ts";
export type { KeyAlgorithm, KeyPair } from "./keys.ts";
