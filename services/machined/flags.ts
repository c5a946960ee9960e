import { parseArgs } from "node:util";
import { isIpv4 } from "../../lib/config/mod.ts";

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
  "usage: machined --state DIR --address IP --config FILE [--hostname NAME] [--mode process] [--nats-server PATH]";

const HOSTNAME =
  /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** Parses and validates machined's flags; `cwd` resolves relative paths. */
export function parseMachinedFlags(
  args: string[],
  cwd: string = Deno.cwd(),
): MachinedFlags {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        state: { type: "string" },
        address: { type: "string" },
        config: { type: "string" },
        hostname: { type: "string" },
        mode: { type: "string" },
        "nats-server": { type: "string" },
      },
      strict: true,
      allowPositionals: false,
    }) as { values: Record<string, string | undefined> });
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
      `--mode ${JSON.stringify(mode)}: only "process" is supported here`,
    );
  }
  const hostname = values.hostname;
  if (hostname !== undefined && !HOSTNAME.test(hostname)) {
    throw new FlagError(
      `--hostname ${JSON.stringify(hostname)}: not a valid hostname`,
    );
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
  };
}
