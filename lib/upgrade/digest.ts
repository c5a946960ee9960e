/**
 * SHA-256 helpers: one-shot, and incremental (node:crypto) for streams.
 * @module
 */
import { createHash, type Hash } from "node:crypto";

/** Lower-case hex SHA-256 of bytes. */
export async function sha256Hex(
  bytes: Uint8Array<ArrayBuffer>,
): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(d, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** An incremental SHA-256. */
export function sha256Stream(): Hash {
  return createHash("sha256");
}
