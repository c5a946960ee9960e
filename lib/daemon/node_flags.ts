/**
 * The flags that say which node a daemon serves, `--address IP` and
 * `--hostname NAME`, as networkd and udevd-lite take them.
 * @module
 */
import { parseIp } from "../netaddr/mod.ts";

/** Which node a daemon serves. */
export interface NodeFlags {
  /** The node's address (as machined knows it). */
  address: string;
  /** The node's hostname. */
  hostname: string;
}

/** The parseFlags specs of `--address` and `--hostname`. */
export const NODE_FLAG_OPTIONS = {
  address: { type: "string" },
  hostname: { type: "string" },
} as const;

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

/**
 * Checks what parseFlags made of {@linkcode NODE_FLAG_OPTIONS}: no positional
 * argument, `--address` an IP address, `--hostname` a hostname, both given.
 * Throws an Error naming the flag and quoting the value.
 */
export function checkNodeFlags(
  values: { address?: string; hostname?: string },
  positionals: readonly string[],
): NodeFlags {
  if (positionals.length > 0) {
    throw new Error(`unexpected argument ${JSON.stringify(positionals[0])}`);
  }
  if (values.address === undefined) throw new Error("--address is required");
  try {
    parseIp(values.address);
  } catch (cause) {
    throw new Error(
      `--address ${JSON.stringify(values.address)} is not an IP address`,
      { cause },
    );
  }
  if (values.hostname === undefined) throw new Error("--hostname is required");
  return {
    address: values.address,
    hostname: checkHostname(values.hostname),
  };
}
