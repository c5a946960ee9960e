import {
  checkNodeFlags,
  NODE_FLAG_OPTIONS,
  type NodeFlags,
  parseFlags,
} from "../../lib/daemon/mod.ts";

/** networkd's command line. */
export interface NetworkdFlags extends NodeFlags {
  /** Apply the network section handed over on stdin (netns/image mode). */
  apply: boolean;
  /** Set the kernel hostname to `hostname` (image mode only). */
  setHostname: boolean;
  /**
   * Work on the network namespace at this path (/run/netns/NAME or
   * /proc/PID/ns/net) instead of networkd's own; the bus stays in its own.
   */
  netns?: string;
}

const NETNS_PATH =
  /^\/(run\/netns\/[A-Za-z0-9._-]{1,64}|proc\/[0-9]{1,9}\/ns\/net)$/;

/** The usage line printed with a flag error. */
export const NETWORKD_USAGE =
  "usage: networkd --address IP --hostname NAME [--apply] [--set-hostname] [--netns PATH]";

/** Parses networkd's flags strictly: unknown flags and bad values throw. */
export function parseNetworkdFlags(args: string[]): NetworkdFlags {
  const { values, positionals } = parseFlags(
    args,
    {
      ...NODE_FLAG_OPTIONS,
      apply: { type: "boolean", default: false },
      "set-hostname": { type: "boolean", default: false },
      netns: { type: "string" },
    },
    { allowPositionals: true },
  );
  const netns = values.netns;
  if (netns !== undefined && !NETNS_PATH.test(netns)) {
    throw new Error(
      `--netns ${
        JSON.stringify(netns)
      }: expected /run/netns/NAME or /proc/PID/ns/net`,
    );
  }
  return {
    ...checkNodeFlags(values, positionals),
    apply: values.apply,
    setHostname: values["set-hostname"],
    ...(netns === undefined ? {} : { netns }),
  };
}
