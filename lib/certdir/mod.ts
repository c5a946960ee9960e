/**
 * Certificate folders: what apid and trustd read (server.crt, server.key,
 * ca.crt, client.crt/key) and machined writes, atomically; a watcher for
 * rotation. Apart from services/machined/certificates/ (which issues the
 * certificates) so a daemon that only reads its folder does not load the PKI
 * (x509) code.
 * @module
 */
export {
  certDirOf,
  readCertDir,
  waitForCertDir,
  watchCertDir,
  writeCertDir,
  writeFileAtomic,
} from "./cert_dir.ts";
export {
  checkTlsMaterial,
  NODE_SERVER_NAME,
  tlsContextOptions,
} from "./tls_material.ts";
export type { TlsMaterial } from "./tls_material.ts";
export type {
  CertDirFiles,
  CertDirMaterial,
  FileOwnerIds,
  WaitForCertDirOptions,
  WatchCertDirOptions,
} from "./cert_dir.ts";
