/**
 * apid's certificates: read from the certs folder machined writes, turned
 * into rotating server credentials and per-target client credentials, and
 * re-read when the files change.
 *
 * Stop-gap until lib/grpc's shared credential helpers land; kept small.
 * @module
 */
import { Buffer } from "node:buffer";
import * as grpc from "@grpc/grpc-js";

/** The PEM files of apid's certs folder. */
export interface ApidCertFiles {
  /** The OS CA certificate (trust anchor for clients and peers). */
  ca: string;
  /** apid's server certificate and key. */
  serverCrt: string;
  serverKey: string;
  /** apid's os:impersonator client certificate and key (control planes). */
  clientCrt?: string;
  clientKey?: string;
}

/** Reads the certs folder; the client pair is optional. */
export async function readCertFiles(dir: string): Promise<ApidCertFiles> {
  const read = async (name: string, required: boolean) => {
    try {
      return await Deno.readTextFile(`${dir}/${name}`);
    } catch (cause) {
      if (!required && cause instanceof Deno.errors.NotFound) return undefined;
      throw new Error(`Cannot read apid certificate file "${dir}/${name}"`, {
        cause,
      });
    }
  };
  const [ca, serverCrt, serverKey, clientCrt, clientKey] = await Promise.all([
    read("ca.crt", true),
    read("server.crt", true),
    read("server.key", true),
    read("client.crt", false),
    read("client.key", false),
  ]);
  return {
    ca: ca!,
    serverCrt: serverCrt!,
    serverKey: serverKey!,
    clientCrt,
    clientKey,
  };
}

type CaListener = (u: { caCertificate: Buffer } | null) => void;
type IdListener = (
  u: { certificate: Buffer; privateKey: Buffer } | null,
) => void;

/** Server credentials whose certificates can be replaced while serving. */
export class RotatingServerCredentials {
  #ca = new Set<CaListener>();
  #id = new Set<IdListener>();
  #files: ApidCertFiles;
  /** The grpc-js credentials (client certificate required). */
  readonly credentials: grpc.ServerCredentials;

  /** Makes credentials from the current files. */
  constructor(files: ApidCertFiles) {
    this.#files = files;
    const provider = {
      addCaCertificateListener: (l: CaListener) => {
        this.#ca.add(l);
        // grpc-js registers its watcher only after this returns.
        queueMicrotask(() => l({ caCertificate: Buffer.from(this.#files.ca) }));
      },
      removeCaCertificateListener: (l: CaListener) => this.#ca.delete(l),
      addIdentityCertificateListener: (l: IdListener) => {
        this.#id.add(l);
        queueMicrotask(() => l(this.#identity()));
      },
      removeIdentityCertificateListener: (l: IdListener) => this.#id.delete(l),
    };
    this.credentials = grpc.experimental
      .createCertificateProviderServerCredentials(provider, provider, true);
  }

  /** Serves new connections with new certificates; open ones carry on. */
  update(files: ApidCertFiles): void {
    this.#files = files;
    for (const l of this.#ca) l({ caCertificate: Buffer.from(files.ca) });
    for (const l of this.#id) l(this.#identity());
  }

  #identity() {
    return {
      certificate: Buffer.from(this.#files.serverCrt),
      privateKey: Buffer.from(this.#files.serverKey),
    };
  }
}

/**
 * Client credentials to dial `target`'s apid with apid's own client
 * certificate, accepting only a server certificate from the OS CA whose
 * SANs name `target`.
 */
export function peerCredentials(
  files: ApidCertFiles,
  target: string,
): grpc.ChannelCredentials {
  if (!files.clientCrt || !files.clientKey) {
    throw new Error("Cannot forward: apid has no client certificate");
  }
  return grpc.credentials.createSsl(
    Buffer.from(files.ca),
    Buffer.from(files.clientKey),
    Buffer.from(files.clientCrt),
    {
      checkServerIdentity: (_host, cert) =>
        sanMatches(String(cert.subjectaltname ?? ""), target)
          ? undefined
          : new Error(
            `server certificate of "${target}" does not name it (SANs: ${
              cert.subjectaltname ?? "none"
            })`,
          ),
    },
  );
}

/** Whether a Node-style subjectaltname string names `target`. */
export function sanMatches(subjectAltName: string, target: string): boolean {
  const wanted = target.toLowerCase();
  for (const part of subjectAltName.split(",")) {
    const [kind, ...rest] = part.trim().split(":");
    const value = rest.join(":").trim().toLowerCase();
    if (kind === "DNS" && value === wanted) return true;
    if (kind === "IP Address" && sameIp(value, wanted)) return true;
  }
  return false;
}

function sameIp(a: string, b: string): boolean {
  if (a === b) return true;
  if (!a.includes(":") || !b.includes(":")) return false;
  return expandV6(a) === expandV6(b);
}

function expandV6(ip: string): string {
  const [head, tail = ""] = ip.split("::");
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const fill = ip.includes("::") ? 8 - h.length - t.length : 0;
  return [...h, ...Array(Math.max(0, fill)).fill("0"), ...t]
    .map((x) => parseInt(x || "0", 16).toString(16)).join(":");
}
