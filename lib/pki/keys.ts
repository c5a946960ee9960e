import { pemDecodeOne, pemEncode } from "../pem/mod.ts";

/** Key algorithms Bronze issues: ECDSA P-256 (default) or Ed25519. */
export type KeyAlgorithm = "ecdsa-p256" | "ed25519";

/** The default key algorithm (accepted by Deno TLS, grpc-js and grpcio alike). */
export const DEFAULT_KEY_ALGORITHM: KeyAlgorithm = "ecdsa-p256";

/** A key pair as WebCrypto keys. */
export interface KeyPair {
  /** The private key (extractable, usage "sign"). */
  privateKey: CryptoKey;
  /** The public key (usage "verify"). */
  publicKey: CryptoKey;
}

/** The WebCrypto algorithm parameters for key generation and signing. */
export function signingAlgorithm(
  alg: KeyAlgorithm,
): EcKeyGenParams & EcdsaParams | Algorithm {
  return alg === "ed25519"
    ? { name: "Ed25519" }
    : { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
}

/** The key algorithm of a WebCrypto key; throws for anything else. */
export function keyAlgorithmOf(key: CryptoKey): KeyAlgorithm {
  const a = key.algorithm as EcKeyAlgorithm;
  if (a.name === "Ed25519") return "ed25519";
  if (a.name === "ECDSA" && a.namedCurve === "P-256") return "ecdsa-p256";
  throw new Error(
    `Unsupported key algorithm ${JSON.stringify(a.name)}${
      a.namedCurve ? ` (${a.namedCurve})` : ""
    }: expected ECDSA P-256 or Ed25519`,
  );
}

/** Generates a fresh key pair. */
export async function generateKeyPair(
  alg: KeyAlgorithm = DEFAULT_KEY_ALGORITHM,
): Promise<KeyPair> {
  const pair = await crypto.subtle.generateKey(
    signingAlgorithm(alg) as EcKeyGenParams,
    true,
    ["sign", "verify"],
  ) as CryptoKeyPair;
  return { privateKey: pair.privateKey, publicKey: pair.publicKey };
}

/** Encodes a private key as PKCS#8 PEM ("PRIVATE KEY"). */
export async function exportPrivateKeyPem(key: CryptoKey): Promise<string> {
  const der = new Uint8Array(await crypto.subtle.exportKey("pkcs8", key));
  return pemEncode("PRIVATE KEY", der);
}

/** Encodes a public key as SPKI PEM ("PUBLIC KEY"). */
export async function exportPublicKeyPem(key: CryptoKey): Promise<string> {
  const der = new Uint8Array(await crypto.subtle.exportKey("spki", key));
  return pemEncode("PUBLIC KEY", der);
}

/**
 * Imports a PKCS#8 PEM private key (ECDSA P-256 or Ed25519) with its public
 * half; throws an Error saying what is wrong, never quoting the key.
 */
export async function importPrivateKeyPem(pem: string): Promise<KeyPair> {
  let der: Uint8Array<ArrayBuffer>;
  try {
    der = pemDecodeOne(pem, "PRIVATE KEY").der;
  } catch (cause) {
    throw new Error("Cannot import private key: not a PKCS#8 PEM private key", {
      cause,
    });
  }
  for (const alg of ["ecdsa-p256", "ed25519"] as const) {
    const params = signingAlgorithm(alg) as EcKeyImportParams;
    let privateKey: CryptoKey;
    try {
      privateKey = await crypto.subtle.importKey("pkcs8", der, params, true, [
        "sign",
      ]);
    } catch {
      continue;
    }
    const jwk = await crypto.subtle.exportKey("jwk", privateKey);
    delete jwk.d;
    jwk.key_ops = ["verify"];
    const publicKey = await crypto.subtle.importKey("jwk", jwk, params, true, [
      "verify",
    ]);
    return { privateKey, publicKey };
  }
  throw new Error(
    "Cannot import private key: not an ECDSA P-256 or Ed25519 PKCS#8 key",
  );
}
