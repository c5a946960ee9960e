/**
 * The node certificates as machined's boot uses them: issued in the
 * background once the services are spawned (their X.509 code loads then,
 * not before anything runs), awaited by apid and trustd before they start,
 * and the CA and token trustd gets on stdin.
 * @module
 */
import type { MachineConfig } from "../../../lib/config/mod.ts";
import type { Logger } from "../../../lib/log/mod.ts";
import { base64ToBytes } from "../../../lib/pem/mod.ts";
import { certsDir } from "../../../lib/layout/mod.ts";
import type { TrustdSecrets } from "../node_services.ts";
import type {
  NodeCertificates,
  NodeCertificatesOptions,
} from "./node_certificates.ts";

/** What the node certificates are issued for. */
export interface CertSupplyOptions {
  /** The validated machine config. */
  config: MachineConfig;
  /** The node's address. */
  address: string;
  /** The node's hostname. */
  hostname: string;
  /** The node's state folder. */
  stateDir: string;
  /** Logger. */
  log: Logger;
  /** Certificate lifetime (ms; default 24 h). */
  ttlMs?: number;
  /** Who each folder belongs to (image mode: the daemon's own uid). */
  owners?: NodeCertificatesOptions["owners"];
}

/** The node certificates of one boot. */
export class CertSupply {
  #o: CertSupplyOptions;
  #certs: Promise<NodeCertificates> | undefined;

  /** Sets up (nothing is issued until start()). */
  constructor(options: CertSupplyOptions) {
    this.#o = options;
  }

  /** Starts issuing and renewing until `signal` aborts. */
  start(signal: AbortSignal): Promise<NodeCertificates> {
    this.#certs = this.#run(signal);
    return this.#certs;
  }

  /**
   * A changed config or hostname (applied live, or booted in place): the
   * certificates are reissued at once when their SANs, the CA or the type
   * change; apid and trustd reload them without dropping calls.
   */
  async update(config: MachineConfig, hostname: string): Promise<void> {
    this.#o = { ...this.#o, config, hostname };
    (await this.#certs)?.update({ config, hostname });
  }

  async #run(signal: AbortSignal): Promise<NodeCertificates> {
    // One turn of the event loop: the services' processes are spawned first.
    await new Promise((r) => setTimeout(r, 0));
    const { runNodeCertificates } = await import("./node_certificates.ts");
    return runNodeCertificates({
      config: this.#o.config,
      address: this.#o.address,
      hostname: this.#o.hostname,
      stateDir: this.#o.stateDir,
      signal,
      log: this.#o.log,
      ttlMs: this.#o.ttlMs,
      owners: this.#o.owners,
    });
  }

  /** Waits until `daemon`'s certificates are in place (or `signal` aborts). */
  async prepare(daemon: "apid" | "trustd", signal: AbortSignal): Promise<void> {
    await Deno.mkdir(certsDir(this.#o.stateDir, daemon), {
      recursive: true,
      mode: 0o700,
    });
    const certs = await this.#certs;
    if (!certs) throw new Error("node certificates are not running");
    // Control planes mint them; workers wait for a control plane's trustd.
    let onAbort: (() => void) | undefined;
    try {
      await Promise.race([
        certs.ready(),
        new Promise<void>((_, reject) => {
          onAbort = () =>
            reject(new Error(`stopped waiting for ${daemon}'s certificates`));
          if (signal.aborted) onAbort();
          else signal.addEventListener("abort", onAbort, { once: true });
        }),
      ]);
    } finally {
      if (onAbort) signal.removeEventListener("abort", onAbort);
    }
  }
}

/** The secrets trustd gets: the OS CA (PEM) and the machine token. */
export function trustdSecrets(config: MachineConfig): TrustdSecrets {
  const ca = config.machine.ca;
  const pem = (b64: string | undefined) =>
    b64 ? new TextDecoder().decode(base64ToBytes(b64)) : "";
  return {
    caCrt: pem(ca.crt),
    caKey: pem(ca.key),
    token: config.machine.token,
  };
}
