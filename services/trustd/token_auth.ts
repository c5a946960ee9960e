import { createHash, timingSafeEqual } from "node:crypto";
import { ApiError } from "../../lib/api_error/mod.ts";

const sha256 = (s: string): Uint8Array =>
  createHash("sha256").update(s).digest();

/**
 * Checks the machine token a caller sends in metadata `token`: both sides are
 * hashed with SHA-256 and compared in constant time (as Talos does), so
 * neither length nor content leaks through timing.
 */
export class TokenVerifier {
  #hash: Uint8Array;

  /** Keeps only the token's hash. */
  constructor(token: string) {
    this.#hash = sha256(token);
  }

  /**
   * Throws Unauthenticated "missing token" when no token was sent,
   * "invalid token" when it is wrong.
   */
  verify(sent: readonly string[] | undefined): void {
    if (sent === undefined || sent.length === 0 || sent[0] === "") {
      throw new ApiError("Unauthenticated", "missing token");
    }
    if (!timingSafeEqual(sha256(sent[0]), this.#hash)) {
      throw new ApiError("Unauthenticated", "invalid token");
    }
  }
}
