import { x509 } from "./_x509.ts";
import {
  type ExtKeyUsage,
  extKeyUsageOid,
  loadCertificate,
} from "./certificate.ts";
import {
  DEFAULT_KEY_ALGORITHM,
  exportPrivateKeyPem,
  generateKeyPair,
  importPrivateKeyPem,
  type KeyAlgorithm,
  keyAlgorithmOf,
  signingAlgorithm,
} from "./keys.ts";
import { subjectAltNames, subjectName } from "./_names.ts";

/** The OS CA lifetime: 10 years (Talos's CAValidityTime). */
export const CA_TTL_MS = 87600 * 3600 * 1000;
/** Backdating of notBefore, for clock skew between nodes. */
export const CLOCK_SKEW_MS = 60 * 1000;

/** A certificate and its private key, both PEM. */
export interface PemKeyPair {
  /** PEM certificate. */
  crt: string;
  /** PEM PKCS#8 private key. */
  key: string;
}

/** A key pair just issued, and when its certificate expires. */
export interface IssuedKeyPair extends PemKeyPair {
  /** The certificate's notAfter (the TTL, capped at the CA's own end). */
  notAfter: Date;
}

/** What a leaf certificate certifies. */
export interface IssueOptions {
  /** Subject CN. */
  commonName: string;
  /** Subject O values (roles, for client certificates). */
  organizations?: string[];
  /** DNS SANs. */
  dnsNames?: string[];
  /** IP SANs. */
  ipAddresses?: string[];
  /** serverAuth and/or clientAuth. */
  usages: ExtKeyUsage[];
  /** Lifetime in ms (capped at the CA's own end of validity). */
  ttlMs: number;
  /** Start of validity; now minus CLOCK_SKEW_MS by default. */
  notBefore?: Date;
}

/** Options for {@linkcode CertificateAuthority.create}. */
export interface CreateCaOptions {
  /** CA subject CN; "bronze" by default. */
  commonName?: string;
  /** CA subject O; "bronze" by default. */
  organization?: string;
  /** Lifetime; 10 years by default. */
  ttlMs?: number;
  /** Key algorithm; ECDSA P-256 by default. */
  algorithm?: KeyAlgorithm;
}

function randomSerial(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[0] &= 0x7f; // positive
  b[0] |= 0x01; // and no leading zero byte to strip
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** The OS CA: issues leaf certificates with its private key. */
export class CertificateAuthority {
  #cert: x509.X509Certificate;
  #privateKey: CryptoKey;
  #publicKey: CryptoKey;
  /** The CA certificate (PEM). */
  readonly crtPem: string;
  /** The CA private key (PKCS#8 PEM). Secret. */
  readonly keyPem: string;

  private constructor(
    cert: x509.X509Certificate,
    keys: { privateKey: CryptoKey; publicKey: CryptoKey },
    crtPem: string,
    keyPem: string,
  ) {
    this.#cert = cert;
    this.#privateKey = keys.privateKey;
    this.#publicKey = keys.publicKey;
    this.crtPem = crtPem;
    this.keyPem = keyPem;
  }

  /** Makes a new self-signed CA. */
  static async create(
    options: CreateCaOptions = {},
  ): Promise<CertificateAuthority> {
    const alg = options.algorithm ?? DEFAULT_KEY_ALGORITHM;
    const keys = await generateKeyPair(alg);
    const now = Date.now();
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: randomSerial(),
      name: subjectName(options.commonName ?? "bronze", [
        options.organization ?? "bronze",
      ]),
      notBefore: new Date(now - CLOCK_SKEW_MS),
      notAfter: new Date(now + (options.ttlMs ?? CA_TTL_MS)),
      signingAlgorithm: signingAlgorithm(alg),
      keys: keys as CryptoKeyPair,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign |
            x509.KeyUsageFlags.digitalSignature,
          true,
        ),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    return new CertificateAuthority(
      cert,
      keys,
      cert.toString("pem") + "\n",
      await exportPrivateKeyPem(keys.privateKey),
    );
  }

  /**
   * Loads a CA from PEM certificate and key; throws if either is unusable or
   * the key does not belong to the certificate.
   */
  static async fromPem(
    crtPem: string,
    keyPem: string,
  ): Promise<CertificateAuthority> {
    const cert = loadCertificate(crtPem);
    const keys = await importPrivateKeyPem(keyPem);
    const certKey = new Uint8Array(
      await crypto.subtle.exportKey("spki", await cert.publicKey.export()),
    );
    const ownKey = new Uint8Array(
      await crypto.subtle.exportKey("spki", keys.publicKey),
    );
    if (
      certKey.length !== ownKey.length ||
      certKey.some((b, i) => b !== ownKey[i])
    ) {
      throw new Error(
        "Cannot load CA: the private key does not match the certificate",
      );
    }
    const bc = cert.getExtension(x509.BasicConstraintsExtension);
    if (!bc?.ca) {
      throw new Error(
        "Cannot load CA: the certificate is not a CA (basicConstraints)",
      );
    }
    return new CertificateAuthority(cert, keys, crtPem, keyPem);
  }

  /** End of the CA's validity. */
  get notAfter(): Date {
    return this.#cert.notAfter;
  }

  /** Issues a leaf certificate (PEM) for `publicKey`. */
  async issue(publicKey: CryptoKey, options: IssueOptions): Promise<string> {
    return (await this.#issue(publicKey, options)).pem;
  }

  async #issue(
    publicKey: CryptoKey,
    options: IssueOptions,
  ): Promise<{ pem: string; notAfter: Date }> {
    keyAlgorithmOf(publicKey);
    if (!(options.ttlMs > 0)) {
      throw new Error(
        `Cannot issue certificate: ttl ${options.ttlMs} ms is not positive`,
      );
    }
    if (options.usages.length === 0) {
      throw new Error("Cannot issue certificate: no extended key usage given");
    }
    const now = Date.now();
    const notBefore = options.notBefore ?? new Date(now - CLOCK_SKEW_MS);
    const notAfter = new Date(
      Math.min(now + options.ttlMs, this.#cert.notAfter.getTime()),
    );
    const extensions: x509.Extension[] = [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension(
        options.usages.map(extKeyUsageOid),
        false,
      ),
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(this.#publicKey),
    ];
    const sans = subjectAltNames(options.dnsNames, options.ipAddresses);
    if (sans) extensions.push(sans);
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: randomSerial(),
      subject: subjectName(options.commonName, options.organizations),
      issuer: this.#cert.subjectName,
      notBefore,
      notAfter,
      signingAlgorithm: signingAlgorithm(keyAlgorithmOf(this.#privateKey)),
      publicKey,
      signingKey: this.#privateKey,
      extensions,
    });
    return { pem: cert.toString("pem") + "\n", notAfter };
  }

  /** Makes a fresh key pair and issues a certificate for it. */
  async issueKeyPair(
    options: IssueOptions & { algorithm?: KeyAlgorithm },
  ): Promise<IssuedKeyPair> {
    const keys = await generateKeyPair(
      options.algorithm ?? DEFAULT_KEY_ALGORITHM,
    );
    const { pem, notAfter } = await this.#issue(keys.publicKey, options);
    return {
      crt: pem,
      key: await exportPrivateKeyPem(keys.privateKey),
      notAfter,
    };
  }
}
