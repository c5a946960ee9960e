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
}

/** The usage line printed with a flag error. */
export const NETWORKD_USAGE =
  "usage: networkd --address IP --hostname NAME [--apply] [--set-hostname]";

/** Parses networkd's flags strictly: unknown flags and bad values throw. */
export function parseNetworkdFlags(args: string[]): NetworkdFlags {
  const { values, positionals } = parseFlags(
    args,
    {
      ...NODE_FLAG_OPTIONS,
      apply: { type: "boolean", default: false },
      "set-hostname": { type: "boolean", default: false },
    },
    { allowPositionals: true },
  );
  return {
    ...checkNodeFlags(values, positionals),
    apply: values.apply,
    setHostname: values["set-hostname"],
  };
}
