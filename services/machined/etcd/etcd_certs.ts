/**
 * A control plane's etcd certificates, minted by machined from the etcd CA
 * (cluster.etcd.ca), apart from the OS CA: the client-port server
 * certificate, the peer certificate (both serverAuth and clientAuth, as etcd
 * dials its peers with it) and machined's own client certificate. Short-lived
 * like the node certificates and renewed at half-life; etcd reads its files
 * again at every TLS handshake, so a renewal needs no restart.
 * @module
 */
import type { MachineConfig } from "../../../lib/config/mod.ts";
import {
  type FileOwnerIds,
  writeFileAtomic,
} from "../../../lib/certdir/mod.ts";
import type { EtcdCertFiles, EtcdTls } from "../../../lib/etcd/mod.ts";
import type { Logger } from "../../../lib/log/mod.ts";
import { base64ToPem } from "../../../lib/pem/mod.ts";
import { errorText } from "../../../lib/log/mod.ts";
import { sleep } from "../runner/notifier.ts";

/** Where a node's etcd certificates live under its state. */
export function etcdCertDir(stateDir: string): string {
  return `${stateDir}/certs/etcd`;
}

/** The files of the folder, as etcd's flags name them. */
export function etcdCertFiles(stateDir: string): EtcdCertFiles {
  const d = etcdCertDir(stateDir);
  return {
    ca: `${d}/ca.crt`,
    serverCrt: `${d}/server.crt`,
    serverKey: `${d}/server.key`,
    peerCrt: `${d}/peer.crt`,
    peerKey: `${d}/peer.key`,
  };
}

/** Options for {@linkcode EtcdCertificates}. */
export interface EtcdCertificatesOptions {
  /** The machine config (a control plane's, with cluster.etcd.ca). */
  config: MachineConfig;
  /** The node's address (an IP SAN of both certificates). */
  address: string;
  /** The node's hostname (CN and a DNS SAN). */
  hostname: string;
  /** The node's state folder. */
  stateDir: string;
  /** Lifetime (ms); renewed at half of it. */
  ttlMs: number;
  /** Logger (never given keys). */
  log: Logger;
  /** Stops renewing. */
  signal: AbortSignal;
  /** Who the folder belongs to (image mode: etcd's own uid). */
  owner?: FileOwnerIds;
}

/** Issues and renews the etcd certificates of a control plane. */
export class EtcdCertificates {
  #o: EtcdCertificatesOptions;
  #client: EtcdTls | undefined;
  #ready: Promise<void>;
  #resolve!: () => void;
  #issued = 0;
  #done: Promise<void>;

  /** Starts issuing at once. */
  constructor(options: EtcdCertificatesOptions) {
    if (!options.config.cluster.etcd) {
      throw new Error("Cannot issue etcd certificates: no cluster.etcd.ca");
    }
    this.#o = options;
    this.#ready = new Promise((resolve) => this.#resolve = resolve);
    this.#done = this.#loop().catch((err) =>
      options.log.error("etcd certificates stopped", { error: errorText(err) })
    );
  }

  /** Resolves when renewal has stopped (after the signal aborted). */
  done(): Promise<void> {
    return this.#done;
  }

  /** Resolves once the folder has been written (or never, if the signal aborts first). */
  ready(): Promise<void> {
    return this.#ready;
  }

  /** Whether the folder has been written. */
  get isReady(): boolean {
    return this.#client !== undefined;
  }

  /** How many times they were issued. */
  get issued(): number {
    return this.#issued;
  }

  /** machined's current client material (throws before the first issue). */
  clientTls(): EtcdTls {
    if (!this.#client) throw new Error("etcd certificates are not issued yet");
    return this.#client;
  }

  async #loop(): Promise<void> {
    const { signal, log } = this.#o;
    while (!signal.aborted) {
      let wait: number;
      try {
        const notAfter = await this.#issue();
        this.#issued++;
        this.#resolve();
        wait = Math.max(1000, (notAfter - Date.now()) / 2);
        log.info("etcd certificates issued", {
          notAfter: new Date(notAfter).toISOString(),
        });
      } catch (err) {
        if (signal.aborted) return;
        log.error("cannot issue etcd certificates", { error: errorText(err) });
        wait = 5000;
      }
      await sleep(wait, signal);
    }
  }

  async #issue(): Promise<number> {
    const { CertificateAuthority } = await import("../../../lib/pki/mod.ts");
    const o = this.#o;
    const etcd = o.config.cluster.etcd!;
    const caPem = base64ToPem(etcd.ca.crt);
    const ca = await CertificateAuthority.fromPem(
      caPem,
      base64ToPem(etcd.ca.key ?? ""),
    );
    const ips = [...new Set([o.address, "127.0.0.1"])];
    const names = {
      commonName: o.hostname,
      dnsNames: [...new Set([o.hostname, "localhost"])],
      ipAddresses: ips,
      usages: ["serverAuth" as const, "clientAuth" as const],
      ttlMs: o.ttlMs,
    };
    const server = await ca.issueKeyPair(names);
    const peer = await ca.issueKeyPair(names);
    const client = await ca.issueKeyPair({
      commonName: "machined",
      usages: ["clientAuth"],
      ttlMs: o.ttlMs,
    });
    const dir = etcdCertDir(o.stateDir);
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    const owner = o.owner;
    if (owner) await Deno.chown(dir, owner.uid, owner.gid);
    const f = etcdCertFiles(o.stateDir);
    await writeFileAtomic(f.ca, caPem, 0o644, owner);
    // Keys first: etcd pairs each certificate with its key at every handshake.
    await writeFileAtomic(f.peerKey, peer.key, 0o600, owner);
    await writeFileAtomic(f.peerCrt, peer.crt, 0o644, owner);
    await writeFileAtomic(f.serverKey, server.key, 0o600, owner);
    await writeFileAtomic(f.serverCrt, server.crt, 0o644, owner);
    this.#client = { ca: caPem, cert: client.crt, key: client.key };
    return Math.min(
      server.notAfter.getTime(),
      peer.notAfter.getTime(),
      client.notAfter.getTime(),
    );
  }
}
