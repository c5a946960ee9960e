/**
 * What machined is started with, and the defaults it derives: the source
 * root of this checkout and a hostname from the node address.
 * @module
 */
import type { MachineConfig, NetworkConfig } from "../../lib/config/mod.ts";
import type { LogSink } from "../../lib/log/mod.ts";
import type { ConfigStore } from "./config_store.ts";
import type { Platform } from "./platform.ts";
import type { BackoffOptions } from "./runner/backoff.ts";
import type { HealthSettings } from "./runner/health.ts";

/** Everything machined needs to run a node in process mode. */
export interface MachinedOptions {
  /** The node's state folder (absolute); nothing is written elsewhere. */
  stateDir: string;
  /** The node's IPv4 address; NATS and the API ports bind here. */
  address: string;
  /** The validated machine config. */
  config: MachineConfig;
  /** The hostname when the config names none (default: derived from the address). */
  hostname?: string;
  /** The nats-server binary. */
  natsServerPath: string;
  /** The NATS port (default 4222). */
  natsPort?: number;
  /** Source root holding deno.json and services/ (default: this checkout). */
  root?: string;
  /** Restart backoff (default: 1 s doubling to 30 s, reset after 60 s). */
  backoff?: BackoffOptions;
  /** Health timing of every service. */
  healthSettings?: Partial<HealthSettings>;
  /** Node certificate lifetime (ms; default 24 h, renewed at half-life). */
  certTtlMs?: number;
  /** How long a new release may take to become healthy (ms; process mode). */
  upgradeTrialMs?: number;
  /** The network section networkd gets (default: the config's). */
  network?: NetworkConfig;
  /** Process or image mode (default: process mode from `root`). */
  platform?: Platform;
  /** Where machined's own log lines go besides Logs (default stderr). */
  logSink?: LogSink;
  /** Called once, when every service is up for the first time. */
  onReady?: () => void;
  /**
   * The accepted config's store (process mode): ApplyConfiguration works in
   * every mode and Reboot boots with the stored config. Without it the
   * platform's saveConfig (image mode) keeps the config.
   */
  configStore?: ConfigStore;
  /** The etcd binary control planes run (default: found on the PATH). */
  etcdPath?: string;
  /** Where etcd keeps its data (default <state>/etcd; image: the ephemeral partition). */
  etcdDataDir?: string;
}

/** The source root of this checkout (holds deno.json). */
export function defaultRoot(): string {
  return new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
}

/** The hostname of a node without one configured: "bronze-127-5-0-2". */
export function derivedHostname(address: string): string {
  return `bronze-${address.replaceAll(".", "-").replaceAll(":", "-")}`;
}
