/**
 * PEM blocks and base64, and certificate fingerprints: the text forms of
 * keys and certificates, without any X.509 library, so a daemon that only
 * moves PEM around (machined reading its config, PID 1 printing its API
 * fingerprint) never loads one.
 * @module
 */
export {
  base64ToBytes,
  base64ToPem,
  bytesToBase64,
  certificateFingerprint,
  pemDecode,
  pemDecodeOne,
  pemEncode,
  pemToBase64,
} from "./pem.ts";
export type { PemBlock } from "./pem.ts";
