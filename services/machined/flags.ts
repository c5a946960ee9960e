import { parseFlags } from "../../lib/daemon/mod.ts";
import { isIpv4 } from "../../lib/netaddr/mod.ts";
import { MIN_NODE_CERT_TTL_MS } from "../../lib/constants/mod.ts";

/** machined's command line, validated. */
export interface MachinedFlags {
  /** --state DIR: absolute path of the node's state folder. */
  stateDir: string;
  /** --address IP: the node's IPv4 address. */
  address: string;
  /** --config FILE: the machine config. */
  configPath: string;
  /** --hostname NAME, if given. */
  hostname?: string;
  /** --mode: only "process" so far. */
  mode: "process";
  /** --nats-server PATH, if given. */
  natsServer?: string;
  /** --cert-ttl DURATION in ms, if given (node certificate lifetime). */
  certTtlMs?: number;
  /** --upgrade-trial DURATION in ms: how long a new release may take to get healthy. */
  upgradeTrialMs?: number;
}

/** A bad command line; main prints it with the usage and exits 2. */
export class FlagError extends Error {
  /** Makes the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "FlagError";
  }
}

/** The usage text. */
export const USAGE =
  "usage: machined --state DIR --address IP --config FILE [--hostname NAME] [--mode process] [--nats-server PATH] [--cert-ttl 24h] [--upgrade-trial 90s]\n       machined --mode image   (PID 1 in the image)";

/** Whether the command line asks for image mode (`--mode image`, nothing else). */
export function isImageMode(args: readonly string[]): boolean {
  return args.length === 2 && args[0] === "--mode" && args[1] === "image" ||
    args.length === 1 && args[0] === "--mode=image";
}

/** Parses "90s", "15m", "24h" (or plain milliseconds "1500ms") to ms. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d{1,9})(ms|s|m|h)$/.exec(text);
  if (!m) return undefined;
  const unit = { ms: 1, s: 1000, m: 60000, h: 3600000 }[m[2]]!;
  return Number(m[1]) * unit;
}

const HOSTNAME =
  /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** Parses and validates machined's flags; `cwd` resolves relative paths. */
export function parseMachinedFlags(
  args: string[],
  cwd: string = Deno.cwd(),
): MachinedFlags {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseFlags(args, {
      state: { type: "string" },
      address: { type: "string" },
      config: { type: "string" },
      hostname: { type: "string" },
      mode: { type: "string" },
      "nats-server": { type: "string" },
      "cert-ttl": { type: "string" },
      "upgrade-trial": { type: "string" },
    }));
  } catch (cause) {
    throw new FlagError(
      cause instanceof Error ? cause.message : String(cause),
      { cause },
    );
  }
  for (const name of ["state", "address", "config"]) {
    if (!values[name]) throw new FlagError(`--${name} is required`);
  }
  const address = values.address!;
  if (!isIpv4(address)) {
    throw new FlagError(
      `--address ${JSON.stringify(address)}: not an IPv4 address`,
    );
  }
  const mode = values.mode ?? "process";
  if (mode !== "process") {
    throw new FlagError(
      `--mode ${
        JSON.stringify(mode)
      }: with --state/--address/--config only "process" is supported (image mode is PID 1 in the image: "--mode image" alone)`,
    );
  }
  const hostname = values.hostname;
  if (hostname !== undefined && !HOSTNAME.test(hostname)) {
    throw new FlagError(
      `--hostname ${JSON.stringify(hostname)}: not a valid hostname`,
    );
  }
  let certTtlMs: number | undefined;
  if (values["cert-ttl"] !== undefined) {
    certTtlMs = parseDuration(values["cert-ttl"]);
    if (certTtlMs === undefined || certTtlMs < MIN_NODE_CERT_TTL_MS) {
      throw new FlagError(
        `--cert-ttl ${
          JSON.stringify(values["cert-ttl"])
        }: expected a duration of at least 2s, like "90s", "15m" or "24h"`,
      );
    }
  }
  let upgradeTrialMs: number | undefined;
  if (values["upgrade-trial"] !== undefined) {
    upgradeTrialMs = parseDuration(values["upgrade-trial"]);
    if (upgradeTrialMs === undefined || upgradeTrialMs < 1000) {
      throw new FlagError(
        `--upgrade-trial ${
          JSON.stringify(values["upgrade-trial"])
        }: expected a duration of at least 1s, like "30s" or "2m"`,
      );
    }
  }
  const abs = (p: string) => (p.startsWith("/") ? p : `${cwd}/${p}`);
  const stateDir = abs(values.state!).replace(/\/+$/, "");
  if (/[,\s]/.test(stateDir)) {
    throw new FlagError(
      `--state ${
        JSON.stringify(stateDir)
      }: commas and spaces are not allowed (they end up in permission lists)`,
    );
  }
  return {
    stateDir,
    address,
    configPath: abs(values.config!),
    hostname,
    mode,
    natsServer: values["nats-server"],
    certTtlMs,
    upgradeTrialMs,
  };
}
