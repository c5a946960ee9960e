/**
 * Node certificates: issuing and renewing apid's and trustd's certificates
 * (minted locally on control planes, from trustd on workers), and the
 * certificate folders daemons read and watch.
 * @module
 */
export {
  IMPERSONATOR_ROLE,
  NodeCertificates,
  runNodeCertificates,
} from "./node_certificates.ts";
export type { NodeCertificatesOptions } from "./node_certificates.ts";
export {
  certDirOf,
  readCertDir,
  waitForCertDir,
  watchCertDir,
  writeCertDir,
  writeFileAtomic,
} from "../certdir/mod.ts";
export type {
  CertDirFiles,
  CertDirMaterial,
  WaitForCertDirOptions,
  WatchCertDirOptions,
} from "../certdir/mod.ts";
export { nodeIdentity } from "./sans.ts";
export type { NodeIdentity } from "./sans.ts";
export { requestCertificate } from "./trustd_request.ts";
export { trustdEndpointsOf } from "./trustd_endpoints.ts";
export type {
  RequestCertificateOptions,
  TrustdCertificate,
} from "./trustd_client.ts";
