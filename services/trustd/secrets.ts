import { TOKEN_PATTERN } from "../../lib/config/mod.ts";
import { base64ToPem } from "../../lib/pem/mod.ts";

/** What trustd gets from machined on stdin (secrets.extra.trustd). */
export interface TrustdSecrets {
  /** OS CA certificate, PEM. */
  caCrt: string;
  /** OS CA private key, PEM. Secret. */
  caKey: string;
  /** The machine token workers prove. Secret. */
  token: string;
}

function pem(value: unknown, what: string): string {
  if (typeof value !== "string" || value === "") {
    throw new Error(`Cannot read trustd secrets: ${what} is missing`);
  }
  if (value.includes("-----BEGIN ")) return value;
  try {
    return base64ToPem(value); // machine-config style: base64 of the PEM
  } catch (cause) {
    throw new Error(`Cannot read trustd secrets: ${what} is not PEM`, {
      cause,
    });
  }
}

/** Validates `secrets.extra.trustd`; errors name the field, never its value. */
export function parseTrustdSecrets(
  extra: Record<string, unknown>,
): TrustdSecrets {
  const t = extra.trustd;
  if (typeof t !== "object" || t === null) {
    throw new Error('Cannot read trustd secrets: "trustd" is missing on stdin');
  }
  const { caCrt, caKey, token } = t as Record<string, unknown>;
  if (typeof token !== "string" || !TOKEN_PATTERN.test(token)) {
    throw new Error(
      "Cannot read trustd secrets: token is missing or not [a-z0-9]{6}.[a-z0-9]{16}",
    );
  }
  return {
    caCrt: pem(caCrt, "caCrt"),
    caKey: pem(caKey, "caKey"),
    token,
  };
}
