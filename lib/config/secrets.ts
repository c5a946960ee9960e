import type { CertificateAuthority, KeyAlgorithm } from "../pki/mod.ts";
import { base64ToPem, pemToBase64 } from "../pem/mod.ts";

/**
 * lib/pki on first use: it carries the X.509 library, whose load is a good
 * part of a daemon's start under QEMU TCG, and machined parses configs
 * long before it issues a certificate.
 */
function pki(): Promise<typeof import("../pki/mod.ts")> {
  return import("../pki/mod.ts");
}
import { type ConfigProblem, ConfigValidationError } from "./errors.ts";
import { TOKEN_PATTERN } from "./validate.ts";
import { parseYaml, readBoundedFile, stringifyYaml } from "./yaml.ts";

/** The cluster's secrets, as `osctl gen config` writes secrets.yaml (base64 PEM). */
export interface SecretsBundle {
  /** Always "v1alpha1". */
  version: "v1alpha1";
  /** The machine token workers prove to trustd. */
  trustdinfo: { token: string };
  /** The OS CA, and etcd's own CA (absent in bundles made before etcd). */
  certs: {
    /** The OS CA. */
    os: { crt: string; key: string };
    /** The etcd CA: peer and client certificates of the etcd members. */
    etcd?: { crt: string; key: string };
  };
}

const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

function randomString(n: number): string {
  let out = "";
  while (out.length < n) {
    for (const b of crypto.getRandomValues(new Uint8Array(n * 2))) {
      // 252 = 7 * 36: rejection sampling keeps every character equally likely.
      if (b < 252 && out.length < n) out += ALPHABET[b % 36];
    }
  }
  return out;
}

/** A fresh machine token, `[a-z0-9]{6}.[a-z0-9]{16}` (as Talos's genToken(6, 16)). */
export function generateToken(): string {
  return `${randomString(6)}.${randomString(16)}`;
}

/** Options for {@linkcode generateSecretsBundle}. */
export interface GenerateSecretsOptions {
  /** OS CA key algorithm (ECDSA P-256 by default). */
  algorithm?: KeyAlgorithm;
}

/**
 * Makes new cluster secrets: an OS CA and an etcd CA (10 years each, apart
 * as in Talos) and a machine token.
 */
export async function generateSecretsBundle(
  options: GenerateSecretsOptions = {},
): Promise<SecretsBundle> {
  const { CertificateAuthority } = await pki();
  const [ca, etcd] = await Promise.all([
    CertificateAuthority.create({ algorithm: options.algorithm }),
    CertificateAuthority.create({
      algorithm: options.algorithm,
      commonName: "etcd",
      organization: "etcd",
    }),
  ]);
  const b64 = (c: { crtPem: string; keyPem: string }) => ({
    crt: pemToBase64(c.crtPem),
    key: pemToBase64(c.keyPem),
  });
  return {
    version: "v1alpha1",
    trustdinfo: { token: generateToken() },
    certs: { os: b64(ca), etcd: b64(etcd) },
  };
}

const B64_PEM = /^[A-Za-z0-9+/]+={0,2}$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function checkKeys(
  v: Record<string, unknown>,
  path: string,
  known: string[],
  p: ConfigProblem[],
): void {
  for (const k of Object.keys(v)) {
    if (!known.includes(k)) {
      p.push({
        path: `${path}.${k}`,
        message: `unknown key ${JSON.stringify(k)}`,
      });
    }
  }
}

/** Parses and validates a secrets bundle; throws ConfigValidationError (never quoting secrets). */
export function parseSecretsBundle(
  input: string | Uint8Array,
  source?: string,
): SecretsBundle {
  const raw = parseYaml(input, { what: "secrets bundle", source });
  const p: ConfigProblem[] = [];
  if (!isObject(raw)) {
    p.push({ path: ".", message: "expected a mapping" });
  } else {
    checkKeys(raw, "", ["version", "trustdinfo", "certs"], p);
    if (raw.version !== "v1alpha1") {
      p.push({ path: ".version", message: 'expected "v1alpha1"' });
    }
    const t = raw.trustdinfo;
    if (
      !isObject(t) || typeof t.token !== "string" ||
      !TOKEN_PATTERN.test(t.token)
    ) {
      p.push({
        path: ".trustdinfo.token",
        message: "machine token is missing or not [a-z0-9]{6}.[a-z0-9]{16}",
      });
    } else checkKeys(t, ".trustdinfo", ["token"], p);
    const c = raw.certs;
    if (!isObject(c) || !isObject(c.os)) {
      p.push({ path: ".certs.os", message: "OS CA is required" });
    } else {
      checkKeys(c, ".certs", ["os", "etcd"], p);
      for (const name of ["os", "etcd"]) {
        const pair = c[name];
        if (pair === undefined && name === "etcd") continue;
        if (!isObject(pair)) {
          p.push({ path: `.certs.${name}`, message: "expected a mapping" });
          continue;
        }
        checkKeys(pair, `.certs.${name}`, ["crt", "key"], p);
        for (const f of ["crt", "key"]) {
          const v = pair[f];
          if (typeof v !== "string" || !B64_PEM.test(v)) {
            p.push({
              path: `.certs.${name}.${f}`,
              message: "expected base64-encoded PEM",
            });
          }
        }
      }
    }
  }
  if (p.length > 0) {
    throw new ConfigValidationError(p, source, { what: "secrets bundle" });
  }
  return JSON.parse(JSON.stringify(raw)) as SecretsBundle;
}

/** Reads and validates a secrets bundle file. */
export async function loadSecretsBundle(path: string): Promise<SecretsBundle> {
  return parseSecretsBundle(
    await readBoundedFile(path, "secrets bundle"),
    path,
  );
}

/** Serialises a secrets bundle to YAML. */
export function stringifySecretsBundle(bundle: SecretsBundle): string {
  return stringifyYaml(bundle);
}

/** The OS CA of a bundle, ready to issue certificates. */
export async function bundleCa(
  bundle: SecretsBundle,
): Promise<CertificateAuthority> {
  const { CertificateAuthority } = await pki();
  return await CertificateAuthority.fromPem(
    base64ToPem(bundle.certs.os.crt),
    base64ToPem(bundle.certs.os.key),
  );
}
