import { x509 } from "./_x509.ts";
import { type KeyAlgorithm, keyAlgorithmOf } from "./keys.ts";

/** Extended key usages Bronze issues. */
export type ExtKeyUsage = "serverAuth" | "clientAuth";

const EKU_OIDS: Record<ExtKeyUsage, string> = {
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
};

/** The OID of an extended key usage. */
export function extKeyUsageOid(usage: ExtKeyUsage): string {
  return EKU_OIDS[usage];
}

/** A distinguished name reduced to what Bronze uses. */
export interface NameInfo {
  /** CN, if present. */
  commonName?: string;
  /** Every O value, in order (roles for client certificates). */
  organizations: string[];
}

/** What Bronze reads from an X.509 certificate. */
export interface CertificateInfo {
  /** X.509 version (3 for everything Bronze makes). */
  version: number;
  /** Subject CN and O. */
  subject: NameInfo;
  /** Issuer CN and O. */
  issuer: NameInfo;
  /** Hex serial number. */
  serialNumber: string;
  /** Start of validity. */
  notBefore: Date;
  /** End of validity. */
  notAfter: Date;
  /** basicConstraints CA flag. */
  isCa: boolean;
  /** DNS SANs. */
  dnsNames: string[];
  /** IP SANs. */
  ipAddresses: string[];
  /** keyUsage flag names ("digitalSignature", "keyCertSign", ...). */
  keyUsages: string[];
  /** Extended key usages (names for known ones, OIDs otherwise). */
  extKeyUsages: string[];
  /** The subject key's algorithm. */
  keyAlgorithm: KeyAlgorithm | "unsupported";
  /** SHA-256 fingerprint of the DER, lowercase hex. */
  fingerprint: string;
}

/** Reads CN and every O out of an x509 Name. */
export function nameInfo(name: x509.Name): NameInfo {
  const cn = name.getField("CN")[0];
  const info: NameInfo = { organizations: name.getField("O") };
  if (cn !== undefined) info.commonName = cn;
  return info;
}

const KEY_USAGE_NAMES: [number, string][] = [
  [x509.KeyUsageFlags.digitalSignature, "digitalSignature"],
  [x509.KeyUsageFlags.nonRepudiation, "nonRepudiation"],
  [x509.KeyUsageFlags.keyEncipherment, "keyEncipherment"],
  [x509.KeyUsageFlags.dataEncipherment, "dataEncipherment"],
  [x509.KeyUsageFlags.keyAgreement, "keyAgreement"],
  [x509.KeyUsageFlags.keyCertSign, "keyCertSign"],
  [x509.KeyUsageFlags.cRLSign, "cRLSign"],
  [x509.KeyUsageFlags.encipherOnly, "encipherOnly"],
  [x509.KeyUsageFlags.decipherOnly, "decipherOnly"],
];

/** Names of the keyUsage flags set in `usages`. */
export function keyUsageNames(usages: number): string[] {
  return KEY_USAGE_NAMES.filter(([f]) => (usages & f) !== 0).map(([, n]) => n);
}

/** The extensions Bronze looks at, read from any extension list. */
export function readExtensions(extensions: readonly x509.Extension[]): {
  isCa: boolean;
  dnsNames: string[];
  ipAddresses: string[];
  keyUsages: string[];
  extKeyUsages: string[];
} {
  const out = {
    isCa: false,
    dnsNames: [] as string[],
    ipAddresses: [] as string[],
    keyUsages: [] as string[],
    extKeyUsages: [] as string[],
  };
  for (const ext of extensions) {
    if (ext instanceof x509.BasicConstraintsExtension) out.isCa = ext.ca;
    else if (ext instanceof x509.KeyUsagesExtension) {
      out.keyUsages = keyUsageNames(ext.usages);
    } else if (ext instanceof x509.ExtendedKeyUsageExtension) {
      out.extKeyUsages = Array.from(ext.usages, (u) => {
        const oid = String(u);
        const known = (Object.keys(EKU_OIDS) as ExtKeyUsage[]).find((k) =>
          EKU_OIDS[k] === oid
        );
        return known ?? oid;
      });
    } else if (ext instanceof x509.SubjectAlternativeNameExtension) {
      for (const n of ext.names.items) {
        if (n.type === "dns") out.dnsNames.push(n.value);
        else if (n.type === "ip") out.ipAddresses.push(n.value);
      }
    }
  }
  return out;
}

/** Skips a DER tag and length at `at`; returns the offset of the contents. */
function derContents(der: Uint8Array, at: number): number {
  const len = der[at + 1];
  return at + 2 + (len & 0x80 ? len & 0x7f : 0);
}

/** The X.509 version (1-3) from a certificate's DER: TBS's optional [0] field. */
function derVersion(der: Uint8Array): number {
  const tbs = derContents(der, 0);
  const first = derContents(der, tbs);
  if (der[first] !== 0xa0) return 1; // version absent: v1
  const int = derContents(der, first);
  return der[derContents(der, int)] + 1;
}

function toHex(buf: ArrayBuffer): string {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/** Parses a PEM (or DER) certificate; throws an Error saying what is wrong. */
export function loadCertificate(
  pem: string | Uint8Array<ArrayBuffer>,
): x509.X509Certificate {
  try {
    return new x509.X509Certificate(pem);
  } catch (cause) {
    throw new Error("Cannot parse certificate: not an X.509 certificate", {
      cause,
    });
  }
}

/** Parses a PEM certificate into the fields Bronze uses. */
export async function parseCertificate(pem: string): Promise<CertificateInfo> {
  const cert = loadCertificate(pem);
  let keyAlgorithm: KeyAlgorithm | "unsupported" = "unsupported";
  try {
    keyAlgorithm = keyAlgorithmOf(await cert.publicKey.export());
  } catch {
    // an algorithm Bronze does not issue; reported as "unsupported"
  }
  const der = new Uint8Array(cert.rawData);
  return {
    version: derVersion(der),
    subject: nameInfo(cert.subjectName),
    issuer: nameInfo(cert.issuerName),
    serialNumber: cert.serialNumber,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    keyAlgorithm,
    fingerprint: toHex(await crypto.subtle.digest("SHA-256", der)),
    ...readExtensions(cert.extensions),
  };
}

/** Options for {@linkcode verifyCertificate}. */
export interface VerifyOptions {
  /** The moment to check validity at; now by default. */
  at?: Date;
}

/**
 * Whether `crtPem` is signed by the CA certificate `caPem` and valid at the
 * given moment. Never throws for a bad signature; throws for unparsable input.
 */
export async function verifyCertificate(
  crtPem: string,
  caPem: string,
  options: VerifyOptions = {},
): Promise<boolean> {
  const cert = loadCertificate(crtPem);
  const ca = loadCertificate(caPem);
  try {
    return await cert.verify({
      publicKey: await ca.publicKey.export(),
      date: options.at ?? new Date(),
    });
  } catch {
    return false;
  }
}
