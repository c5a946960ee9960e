/**
 * The bundle file's layout: MAGIC, the manifest's length (u32 big-endian)
 * and bytes, the signature's length (u32, 0 when unsigned) and bytes, then
 * every part's bytes in manifest order and nothing after.
 * @module
 */

/** The first bytes of every bundle. */
export const BUNDLE_MAGIC = new TextEncoder().encode("BRZUPG1\n");

/** The length of an Ed25519 signature. */
export const SIGNATURE_BYTES = 64;

/** The bytes before the parts: magic, manifest, signature. */
export function encodeBundleHead(
  manifest: Uint8Array,
  signature: Uint8Array,
): Uint8Array {
  const head = new Uint8Array(
    BUNDLE_MAGIC.length + 4 + manifest.length + 4 + signature.length,
  );
  const view = new DataView(head.buffer);
  head.set(BUNDLE_MAGIC, 0);
  let at = BUNDLE_MAGIC.length;
  view.setUint32(at, manifest.length);
  head.set(manifest, at + 4);
  at += 4 + manifest.length;
  view.setUint32(at, signature.length);
  head.set(signature, at + 4);
  return head;
}
