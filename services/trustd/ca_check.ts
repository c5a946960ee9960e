/**
 * trustd's check of the CA it is handed, without an X.509 library: node's
 * native X509Certificate says whether the certificate is a CA and whether
 * the key is its own. The signing code (lib/pki, @peculiar/x509) loads only
 * with the first certificate request: ~4 MB of a process that, on a
 * control plane without workers, may never sign anything.
 * @module
 */
import { nodeCrypto } from "../../lib/node_builtins/mod.ts";

/** Throws saying what is wrong unless `crtPem` is a CA whose key is `keyPem`. */
export function checkCa(crtPem: string, keyPem: string): void {
  const { createPrivateKey, X509Certificate } = nodeCrypto();
  let cert;
  try {
    cert = new X509Certificate(crtPem);
  } catch (cause) {
    throw new Error("Cannot load the CA: its certificate does not parse", {
      cause,
    });
  }
  if (!cert.ca) {
    throw new Error(
      "Cannot load the CA: the certificate is not a CA (basicConstraints)",
    );
  }
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch (cause) {
    throw new Error("Cannot load the CA: its private key does not parse", {
      cause,
    });
  }
  if (!cert.checkPrivateKey(key)) {
    throw new Error(
      "Cannot load the CA: the private key does not match the certificate",
    );
  }
}
