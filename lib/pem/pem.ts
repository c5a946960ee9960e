/** One PEM block: its label ("CERTIFICATE", "PRIVATE KEY", ...) and DER bytes. */
export interface PemBlock {
  /** The label between "BEGIN " and "-----". */
  label: string;
  /** The decoded DER bytes. */
  der: Uint8Array<ArrayBuffer>;
}

const BLOCK =
  /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n]*?)\r?\n?-----END \1-----/g;

/** Encodes DER bytes as a PEM block with 64-character lines. */
export function pemEncode(label: string, der: Uint8Array): string {
  const b64 = bytesToBase64(der);
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${
    lines.join("\n")
  }\n-----END ${label}-----\n`;
}

/** Decodes every PEM block in `text` (in order); throws if there is none. */
export function pemDecode(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const m of text.matchAll(BLOCK)) {
    blocks.push({ label: m[1], der: base64ToBytes(m[2].replace(/\s+/g, "")) });
  }
  if (blocks.length === 0) {
    throw new Error("Cannot decode PEM: no PEM block found");
  }
  return blocks;
}

/** Decodes the single PEM block with `label` in `text`; throws otherwise. */
export function pemDecodeOne(text: string, label: string | RegExp): PemBlock {
  const blocks = pemDecode(text).filter((b) =>
    typeof label === "string" ? b.label === label : label.test(b.label)
  );
  if (blocks.length !== 1) {
    throw new Error(
      `Cannot decode PEM: expected one ${
        String(label)
      } block, found ${blocks.length}`,
    );
  }
  return blocks[0];
}

/** Standard base64 of bytes. */
export function bytesToBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

/** Bytes of standard base64; throws an Error naming the problem. */
export function base64ToBytes(b64: string): Uint8Array<ArrayBuffer> {
  let bin: string;
  try {
    bin = atob(b64);
  } catch (cause) {
    throw new Error("Cannot decode base64: invalid characters or padding", {
      cause,
    });
  }
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** base64 of a PEM text, as machine configs and client configs store it. */
export function pemToBase64(pem: string): string {
  return bytesToBase64(new TextEncoder().encode(pem));
}

/** The PEM text inside a base64 string (as in configs); throws if it is not PEM. */
export function base64ToPem(b64: string): string {
  const pem = new TextDecoder("utf-8", { fatal: true }).decode(
    base64ToBytes(b64.replace(/\s+/g, "")),
  );
  pemDecode(pem);
  return pem;
}

/**
 * The SHA-256 fingerprint of a PEM certificate as node:crypto's
 * `fingerprint256` writes it ("AB:CD:..."): the digest of its DER bytes.
 */
export async function certificateFingerprint(pem: string): Promise<string> {
  const der = pemDecodeOne(pem, "CERTIFICATE").der;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", der));
  return [...digest].map((b) => b.toString(16).padStart(2, "0").toUpperCase())
    .join(":");
}
