import type { NetworkConfig } from "../../lib/config/mod.ts";
import type { DaemonName } from "../../lib/constants/mod.ts";
import { type DaemonLaunchContext, daemonProcess } from "./daemon_command.ts";
import {
  SERVICE_IDENTITIES,
  type SupervisedDaemon,
} from "../../lib/layout/mod.ts";
import { type BackoffOptions, criticalBackoff } from "./runner/backoff.ts";
import type { HealthCheck, HealthSettings } from "./runner/health.ts";
import type { ServiceSpec } from "./runner/service.ts";

/** The secrets trustd gets on stdin (PEM strings and the machine token). */
export interface TrustdSecrets {
  /** OS CA certificate, PEM. */
  caCrt: string;
  /** OS CA private key, PEM. */
  caKey: string;
  /** The machine token workers prove. */
  token: string;
}

/** What machined provides the node's services with. */
export interface NodeServiceHost {
  /** trustd's secrets (control planes). */
  trustdSecrets(): TrustdSecrets;
  /** The config's network section, for networkd (on stdin). */
  networkConfig(): NetworkConfig | undefined;
  /** Asks a daemon's health over machined's bus; throws when unhealthy. */
  daemonHealth(daemon: SupervisedDaemon, signal: AbortSignal): Promise<void>;
  /**
   * nats-server's health through machined's own connection: a round trip
   * (PING/PONG), a rejection while that connection is down, or undefined
   * while machined has none. Until then the check dials the port; dialling
   * every period for good made nats-server's memory grow (a client struct
   * and its goroutines per connection, returned to the kernel only slowly).
   */
  busHealth(): Promise<void> | undefined;
  /** Writes or renews a daemon's certificates before it starts. */
  prepareCerts?(daemon: "apid" | "trustd", signal: AbortSignal): Promise<void>;
}

/** What the node's service table is made from. */
export interface NodeServicesOptions {
  /** How daemons are launched. */
  launch: DaemonLaunchContext;
  /** The nats-server binary. */
  natsServerPath: string;
  /** Its config file (0600, under <state>/run). */
  natsConfigPath: string;
  /** Per-boot bus passwords. */
  passwords: Readonly<Record<DaemonName, string>>;
  /** What machined provides the services with. */
  host: NodeServiceHost;
  /**
   * Restart backoff of every service (defaults: 1 s doubling to 30 s); the
   * bus and apid wait at most CRITICAL_MAX_MS (5 s) whatever it says.
   */
  backoff?: BackoffOptions;
  /** Health timing of every service. */
  healthSettings?: Partial<HealthSettings>;
  /** machined's environment (children get only CHILD_ENV_KEYS of it). */
  parentEnv?: Record<string, string>;
  /**
   * Waits for the node address (image mode). When given, the daemons start
   * side by side, at once, beside nats-server: each retries the bus until
   * it is up, networkd needs nothing else (machined loaded the NIC
   * drivers), trustd and apid wait for the address rather than for networkd
   * and, in their own process, for their certificates (reporting that as
   * their health), so their start overlaps with the certificates' issue.
   */
  waitForAddress?: (signal: AbortSignal) => Promise<void>;
}

/** How long each service gets between SIGTERM and SIGKILL (ms). */
export const GRACE_MS: Readonly<Record<string, number>> = {
  nats: 5000,
  udevd: 10000,
  networkd: 10000,
  trustd: 10000,
  apid: 15000, // as Talos: in-flight calls drain
};

/** The services of a node, in dependency order: nats, udevd, networkd, trustd, apid. */
export function nodeServices(o: NodeServicesOptions): ServiceSpec[] {
  const { launch } = o;
  const parallel = o.waitForAddress !== undefined;
  const { host } = o;
  const natsHealth: HealthCheck = async (signal) => {
    const ping = host.busHealth();
    if (ping) return await ping;
    const conn = await Deno.connect({
      hostname: launch.busHost ?? launch.address,
      port: launch.natsPort,
      signal,
    });
    conn.close();
  };
  const daemon = (
    id: SupervisedDaemon,
    dependsOn: string[],
    extra: Partial<ServiceSpec> = {},
  ): ServiceSpec => ({
    id,
    dependsOn,
    process: () =>
      daemonProcess(id, launch, {
        busPassword: o.passwords[id],
        extra: extraSecrets(id, o),
      }, o.parentEnv),
    health: (signal) => host.daemonHealth(id, signal),
    healthSettings: o.healthSettings,
    graceMs: GRACE_MS[id],
    backoff: o.backoff,
    ...extra,
  });
  const certs = (id: "apid" | "trustd") => {
    const steps: Array<(signal: AbortSignal) => Promise<void>> = [];
    if (o.waitForAddress) steps.push(o.waitForAddress);
    const prepareCerts = host.prepareCerts?.bind(host);
    if (prepareCerts && !parallel) {
      steps.push((signal) => prepareCerts(id, signal));
    }
    return steps.length === 0 ? {} : {
      prepare: async (signal: AbortSignal) => {
        for (const step of steps) await step(signal);
      },
    };
  };
  return [
    {
      id: "nats",
      process: () => ({
        command: o.natsServerPath,
        args: ["-c", o.natsConfigPath],
        env: {},
        cwd: launch.stateDir,
        ...(launch.dropPrivileges ? { identity: SERVICE_IDENTITIES.nats } : {}),
      }),
      health: natsHealth,
      healthSettings: { ...o.healthSettings, timeoutMs: 1000 },
      graceMs: GRACE_MS.nats,
      backoff: criticalBackoff(o.backoff),
    },
    daemon("udevd", parallel ? [] : ["nats"]),
    daemon("networkd", parallel ? [] : ["nats", "udevd"]),
    daemon("trustd", parallel ? [] : ["nats", "networkd"], {
      condition: () =>
        launch.controlPlane ? undefined : "Skipped: control plane only",
      ...certs("trustd"),
    }),
    daemon(
      "apid",
      parallel
        ? []
        : launch.controlPlane
        ? ["nats", "networkd", "trustd"]
        : ["nats", "networkd"],
      { ...certs("apid"), backoff: criticalBackoff(o.backoff) },
    ),
  ];
}

/** What a daemon gets on stdin besides its bus credentials. */
function extraSecrets(
  id: SupervisedDaemon,
  o: NodeServicesOptions,
): Record<string, unknown> | undefined {
  if (id === "trustd") return { trustd: o.host.trustdSecrets() };
  if (id === "networkd") {
    const network = o.host.networkConfig();
    return network ? { network } : undefined;
  }
  return undefined;
}
