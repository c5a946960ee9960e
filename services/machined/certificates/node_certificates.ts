/**
 * A node's short-lived certificates: control planes mint apid's server and
 * client (os:impersonator) certificates and trustd's server certificate from
 * the CA key; workers get apid's server certificate from trustd by proving
 * the machine token. Renewed at half-life and whenever addresses, hostname,
 * certSANs or the CA change.
 * @module
 */
import type { MachineConfig } from "../../../lib/config/mod.ts";
import {
  CertificateAuthority,
  createCsr,
  exportPrivateKeyPem,
  generateKeyPair,
  parseCertificate,
} from "../../../lib/pki/mod.ts";
import { base64ToPem } from "../../../lib/pem/mod.ts";
import {
  MIN_NODE_CERT_TTL_MS,
  NODE_CERT_TTL_MS,
} from "../../../lib/constants/mod.ts";
import type { Logger } from "../../../lib/log/mod.ts";
import {
  certDirOf,
  type FileOwnerIds,
  writeCertDir,
} from "../../../lib/certdir/mod.ts";
import { nodeIdentity } from "./sans.ts";
import { requestCertificate } from "./trustd_request.ts";
import { trustdEndpointsOf } from "./trustd_endpoints.ts";

/** The role apid's forwarding client certificate carries. */
export const IMPERSONATOR_ROLE = "os:impersonator";

/** Options for {@linkcode runNodeCertificates}. */
export interface NodeCertificatesOptions {
  /** The validated machine config. */
  config: MachineConfig;
  /** The node's address(es), put in the certificates' IP SANs. */
  address: string | readonly string[];
  /** The node's hostname (CN and a DNS SAN). */
  hostname: string;
  /** The node's state folder: writes certs/apid/ and certs/trustd/ under it. */
  stateDir: string;
  /** Stops renewing. */
  signal: AbortSignal;
  /** Logger (never given secrets). */
  log: Logger;
  /** Certificate lifetime in ms (default 24 h; at least 2 s). */
  ttlMs?: number;
  /** Workers: trustd "host:port" list (default: the config's endpoint host on 50001). */
  trustdEndpoints?: readonly string[];
  /** Workers: first retry delay towards trustd in ms (default 500). */
  trustdInitialBackoffMs?: number;
  /** Who each folder belongs to (image mode: the daemon's own uid). */
  owners?: { apid?: FileOwnerIds; trustd?: FileOwnerIds };
}

/** What changed inputs are compared on. */
interface Inputs {
  type: string;
  ca: string;
  caKey: string;
  token: string;
  identity: string;
  endpoints: string;
}

/** Issues and renews a node's certificates; see {@linkcode runNodeCertificates}. */
export class NodeCertificates {
  #o: NodeCertificatesOptions;
  #config: MachineConfig;
  #addresses: string[];
  #hostname: string;
  #ttlMs: number;
  #wake: (() => void) | undefined;
  #ready: Promise<void>;
  #readyResolve!: () => void;
  #readyReject!: (err: unknown) => void;
  #done: Promise<void>;
  #issued = 0;

  /** Starts issuing at once; see {@linkcode runNodeCertificates}. */
  constructor(options: NodeCertificatesOptions) {
    const ttlMs = options.ttlMs ?? NODE_CERT_TTL_MS;
    if (!(ttlMs >= MIN_NODE_CERT_TTL_MS)) {
      throw new Error(
        `Cannot run node certificates: ttl ${ttlMs} ms is below ${MIN_NODE_CERT_TTL_MS} ms`,
      );
    }
    this.#o = options;
    this.#config = options.config;
    this.#addresses = toList(options.address);
    this.#hostname = options.hostname;
    this.#ttlMs = ttlMs;
    this.#ready = new Promise((resolve, reject) => {
      this.#readyResolve = resolve;
      this.#readyReject = reject;
    });
    this.#ready.catch(() => {});
    this.#done = this.#loop();
  }

  /** Resolves once every certificate folder of this node has been written. */
  ready(): Promise<void> {
    return this.#ready;
  }

  /** Resolves when renewal has stopped (after the signal aborted). */
  done(): Promise<void> {
    return this.#done;
  }

  /** How many times the node's certificates have been (re)issued. */
  get issued(): number {
    return this.#issued;
  }

  /** Which folders this node writes (apid always; trustd on control planes). */
  get dirs(): { apid: string; trustd?: string } {
    const apid = certDirOf(this.#o.stateDir, "apid");
    return this.#config.machine.type === "controlplane"
      ? { apid, trustd: certDirOf(this.#o.stateDir, "trustd") }
      : { apid };
  }

  /**
   * Tells the renewer about new inputs; certificates are reissued at once if
   * the config's CA, type, certSANs, the addresses or the hostname changed.
   */
  update(changes: {
    config?: MachineConfig;
    address?: string | readonly string[];
    hostname?: string;
  }): void {
    if (changes.config) this.#config = changes.config;
    if (changes.address !== undefined) {
      this.#addresses = toList(changes.address);
    }
    if (changes.hostname !== undefined) this.#hostname = changes.hostname;
    this.#wake?.();
  }

  #inputs(): Inputs {
    const m = this.#config.machine;
    return {
      type: m.type,
      ca: m.ca.crt,
      caKey: m.ca.key ?? "",
      token: m.token,
      identity: JSON.stringify(
        nodeIdentity(this.#config, this.#addresses, this.#hostname),
      ),
      endpoints: JSON.stringify(this.#endpoints()),
    };
  }

  #endpoints(): string[] {
    return [
      ...(this.#o.trustdEndpoints ??
        trustdEndpointsOf(this.#config.cluster.controlPlane.endpoint)),
    ];
  }

  async #loop(): Promise<void> {
    const { signal, log } = this.#o;
    let renewAt = 0;
    let last: Inputs | undefined;
    while (!signal.aborted) {
      const inputs = this.#inputs();
      const changed = last === undefined ||
        JSON.stringify(last) !== JSON.stringify(inputs);
      if (changed || Date.now() >= renewAt) {
        const reason = last === undefined
          ? "start"
          : changed
          ? "inputs changed"
          : "half-life";
        try {
          const notAfter = await this.#issue(inputs, signal);
          last = inputs;
          this.#issued++;
          // Renew at half the remaining lifetime (the issuer may have capped it).
          renewAt = Date.now() + (notAfter - Date.now()) / 2;
          log.info("node certificates issued", {
            reason,
            type: inputs.type,
            notAfter: new Date(notAfter).toISOString(),
            renewAt: new Date(renewAt).toISOString(),
          });
          this.#readyResolve();
        } catch (err) {
          if (signal.aborted) break;
          log.error("cannot issue node certificates", {
            error: err instanceof Error ? err.message : String(err),
          });
          // Retry soon; inputs may be fixed by an update meanwhile.
          renewAt = Date.now() + Math.min(5000, this.#ttlMs / 4);
          last = undefined;
        }
      }
      await this.#sleepUntil(renewAt, signal);
    }
    this.#readyReject(new Error("Node certificates stopped before ready"));
  }

  #sleepUntil(at: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, at - Date.now()));
      this.#wake = done;
      signal.addEventListener("abort", done, { once: true });
    });
  }

  /** Issues everything this node needs; returns the earliest notAfter (ms). */
  async #issue(inputs: Inputs, signal: AbortSignal): Promise<number> {
    const caPem = base64ToPem(this.#config.machine.ca.crt);
    const id = nodeIdentity(this.#config, this.#addresses, this.#hostname);
    if (inputs.type === "controlplane") {
      const ca = await CertificateAuthority.fromPem(
        caPem,
        base64ToPem(this.#config.machine.ca.key ?? ""),
      );
      const server = {
        ...id,
        usages: ["serverAuth" as const],
        ttlMs: this.#ttlMs,
      };
      // apid's first: the API waits for them, trustd's are for workers.
      const apid = await ca.issueKeyPair(server);
      const client = await ca.issueKeyPair({
        commonName: id.commonName,
        organizations: [IMPERSONATOR_ROLE],
        usages: ["clientAuth"],
        ttlMs: this.#ttlMs,
      });
      signal.throwIfAborted();
      const dirs = this.dirs;
      await writeCertDir(dirs.apid, {
        ca: caPem,
        serverCrt: apid.crt,
        serverKey: apid.key,
        clientCrt: client.crt,
        clientKey: client.key,
      }, this.#o.owners?.apid);
      const trustd = await ca.issueKeyPair(server);
      signal.throwIfAborted();
      await writeCertDir(dirs.trustd!, {
        ca: caPem,
        serverCrt: trustd.crt,
        serverKey: trustd.key,
      }, this.#o.owners?.trustd);
      return Math.min(
        ...[apid, client, trustd].map((c) => c.notAfter.getTime()),
      );
    }
    const keys = await generateKeyPair();
    const csr = await createCsr(keys, id);
    const reply = await requestCertificate(csr, {
      endpoints: this.#endpoints(),
      caPem,
      token: this.#config.machine.token,
      ttlMs: this.#ttlMs,
      signal,
      log: this.#o.log,
      initialBackoffMs: this.#o.trustdInitialBackoffMs,
    });
    const info = await parseCertificate(reply.crt);
    if (info.isCa || !info.extKeyUsages.includes("serverAuth")) {
      throw new Error(
        "trustd returned a certificate that is not a server certificate",
      );
    }
    await writeCertDir(this.dirs.apid, {
      ca: reply.ca || caPem,
      serverCrt: reply.crt,
      serverKey: await exportPrivateKeyPem(keys.privateKey),
    }, this.#o.owners?.apid);
    return info.notAfter.getTime();
  }
}

function toList(a: string | readonly string[]): string[] {
  return typeof a === "string" ? [a] : [...a];
}

/**
 * Starts issuing and renewing the node's certificates in the background:
 * `await certs.ready()` before starting apid/trustd; `certs.update({...})`
 * after a config, address or hostname change.
 */
export function runNodeCertificates(
  options: NodeCertificatesOptions,
): NodeCertificates {
  return new NodeCertificates(options);
}
