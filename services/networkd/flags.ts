import { parseArgs } from "node:util";
import { parseIp } from "../../lib/ffi/mod.ts";

/** networkd's command line. */
export interface NetworkdFlags {
  /** The node's address (as machined knows it). */
  address: string;
  /** The node's hostname. */
  hostname: string;
  /** Apply the network section handed over on stdin (netns/image mode). */
  apply: boolean;
  /** Set the kernel hostname to `hostname` (image mode only). */
  setHostname: boolean;
}

/** The usage line printed with a flag error. */
export const NETWORKD_USAGE =
  "usage: networkd --address IP --hostname NAME [--apply] [--set-hostname]";

const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** Checks a hostname (RFC 1123 labels); throws quoting it. */
export function checkHostname(name: string, flag = "--hostname"): string {
  if (!HOSTNAME.test(name)) {
    throw new Error(
      `${flag} ${JSON.stringify(name)} is not a hostname (RFC 1123 labels)`,
    );
  }
  return name;
}

/** Parses networkd's flags strictly: unknown flags and bad values throw. */
export function parseNetworkdFlags(args: string[]): NetworkdFlags {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      address: { type: "string" },
      hostname: { type: "string" },
      apply: { type: "boolean", default: false },
      "set-hostname": { type: "boolean", default: false },
    },
  });
  if (positionals.length > 0) {
    throw new Error(`unexpected argument ${JSON.stringify(positionals[0])}`);
  }
  if (values.address === undefined) throw new Error("--address is required");
  try {
    parseIp(values.address);
  } catch (cause) {
    throw new Error(
      `--address ${JSON.stringify(values.address)} is not an IP address`,
      {
        cause,
      },
    );
  }
  if (values.hostname === undefined) throw new Error("--hostname is required");
  return {
    address: values.address,
    hostname: checkHostname(values.hostname),
    apply: values.apply,
    setHostname: values["set-hostname"],
  };
}
