/**
 * Release keys: the Ed25519 key pair a release is signed with, as PEM text
 * (PKCS#8 private key, SPKI public key).
 * @module
 */
import { pemDecode, pemEncode } from "../pem/mod.ts";

/** A release key pair as PEM text. */
export interface ReleaseKeyPem {
  /** PKCS#8 PEM ("PRIVATE KEY"); keep it secret. */
  privateKeyPem: string;
  /** SPKI PEM ("PUBLIC KEY"); what nodes trust. */
  publicKeyPem: string;
}

/** Makes a new Ed25519 release key pair. */
export async function generateReleaseKey(): Promise<ReleaseKeyPem> {
  const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  const pkcs8 = new Uint8Array(
    await crypto.subtle.exportKey("pkcs8", pair.privateKey),
  );
  const spki = new Uint8Array(
    await crypto.subtle.exportKey("spki", pair.publicKey),
  );
  return {
    privateKeyPem: pemEncode("PRIVATE KEY", pkcs8),
    publicKeyPem: pemEncode("PUBLIC KEY", spki),
  };
}

/** Imports an Ed25519 release private key from PKCS#8 PEM. */
export async function importReleasePrivateKey(pem: string): Promise<CryptoKey> {
  const blocks = pemDecode(pem).filter((b) => b.label === "PRIVATE KEY");
  if (blocks.length !== 1) {
    throw new Error(
      `Cannot read release key: expected one "PRIVATE KEY" PEM block, found ${blocks.length}`,
    );
  }
  try {
    return await crypto.subtle.importKey(
      "pkcs8",
      blocks[0].der,
      { name: "Ed25519" },
      false,
      ["sign"],
    );
  } catch (cause) {
    throw new Error("Cannot read release key: not an Ed25519 private key", {
      cause,
    });
  }
}

/** One trusted public key and a short id naming it in messages. */
export interface TrustedKey {
  /** The first 16 hex digits of the SHA-256 of the SPKI bytes. */
  id: string;
  /** The key, for verify. */
  key: CryptoKey;
}

/**
 * Parses every "PUBLIC KEY" block of `pem` as an Ed25519 key; `where` names
 * the source in errors (a file, a config field).
 */
export async function parseTrustedKeys(
  pem: string,
  where: string,
): Promise<TrustedKey[]> {
  const out: TrustedKey[] = [];
  let blocks;
  try {
    blocks = pemDecode(pem);
  } catch (cause) {
    throw new Error(`Cannot parse trusted keys in ${where}`, { cause });
  }
  for (const [i, b] of blocks.entries()) {
    if (b.label !== "PUBLIC KEY") {
      throw new Error(
        `Cannot parse trusted keys in ${where}: block ${
          i + 1
        } is "${b.label}", expected "PUBLIC KEY"`,
      );
    }
    out.push(await importPublicKey(b.der, `${where} block ${i + 1}`));
  }
  return out;
}

async function importPublicKey(
  der: Uint8Array<ArrayBuffer>,
  where: string,
): Promise<TrustedKey> {
  let key: CryptoKey;
  try {
    key = await crypto.subtle.importKey(
      "spki",
      der,
      { name: "Ed25519" },
      true,
      [
        "verify",
      ],
    );
  } catch (cause) {
    throw new Error(`Cannot parse trusted key in ${where}: not Ed25519`, {
      cause,
    });
  }
  return { id: await keyId(der), key };
}

/** The id of a public key: 16 hex digits of the SHA-256 of its SPKI bytes. */
export async function keyId(spki: Uint8Array<ArrayBuffer>): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", spki));
  return Array.from(d.slice(0, 8), (x) => x.toString(16).padStart(2, "0"))
    .join("");
}

/** The id of the public half of a PEM public key (for messages, listings). */
export async function publicKeyId(publicKeyPem: string): Promise<string> {
  const keys = await parseTrustedKeys(publicKeyPem, "public key");
  if (keys.length !== 1) throw new Error("Expected exactly one public key");
  return keys[0].id;
}
