/**
 * Signed upgrade bundles: release keys, the manifest, writing and
 * verifying bundles, and the process-mode release store.
 * @module
 */
export { BUNDLE_MAGIC } from "./bundle_format.ts";
export { verifyBundle } from "./bundle_verify.ts";
export type { VerifiedBundle, VerifyBundleOptions } from "./bundle_verify.ts";
export { writeBundle } from "./bundle_write.ts";
export type { WriteBundleOptions } from "./bundle_write.ts";
export { compareVersions, MANIFEST_FORMAT, parseManifest } from "./manifest.ts";
export type { Manifest, ManifestPart } from "./manifest.ts";
export {
  generateReleaseKey,
  importReleasePrivateKey,
  keyId,
  parseTrustedKeys,
  publicKeyId,
} from "./release_key.ts";
export type { ReleaseKeyPem, TrustedKey } from "./release_key.ts";
export { UpgradeRefusedError } from "./upgrade_refused_error.ts";
export type { RefusalReason } from "./upgrade_refused_error.ts";
export {
  BUILD_INFO_FILE,
  listReleaseFiles,
  TRUSTED_KEYS_FILE,
} from "./release_tree.ts";
export {
  CURRENT_LINK,
  PREVIOUS_LINK,
  ReleaseStore,
  TRIAL_FILE,
} from "./release_store.ts";
export type { Trial } from "./release_store.ts";
