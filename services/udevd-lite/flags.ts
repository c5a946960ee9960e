import { parseArgs } from "node:util";
import { parseIp } from "../../lib/ffi/mod.ts";

/** udevd-lite's command line. */
export interface UdevdFlags {
  /** The node's address. */
  address: string;
  /** The node's hostname. */
  hostname: string;
  /** The sysfs root (tests point it at a fixture). */
  sys: string;
  /** The kernel's modules folder; /lib/modules/<release> when unset. */
  modulesDir?: string;
  /** Load the modules coldplug finds (image mode only). */
  loadModules: boolean;
}

/** The usage line printed with a flag error. */
export const UDEVD_USAGE =
  "usage: udevd --address IP --hostname NAME [--sys /sys] [--modules-dir DIR] [--load-modules]";

const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

function absolute(flag: string, v: string): string {
  if (!v.startsWith("/") || v.split("/").includes("..")) {
    throw new Error(`${flag} ${JSON.stringify(v)} is not an absolute path`);
  }
  return v.length > 1 ? v.replace(/\/+$/, "") : v;
}

/** Parses udevd-lite's flags strictly: unknown flags and bad values throw. */
export function parseUdevdFlags(args: string[]): UdevdFlags {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      address: { type: "string" },
      hostname: { type: "string" },
      sys: { type: "string", default: "/sys" },
      "modules-dir": { type: "string" },
      "load-modules": { type: "boolean", default: false },
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
      { cause },
    );
  }
  if (values.hostname === undefined) throw new Error("--hostname is required");
  if (!HOSTNAME.test(values.hostname)) {
    throw new Error(
      `--hostname ${
        JSON.stringify(values.hostname)
      } is not a hostname (RFC 1123 labels)`,
    );
  }
  return {
    address: values.address,
    hostname: values.hostname,
    sys: absolute("--sys", values.sys),
    modulesDir: values["modules-dir"] === undefined
      ? undefined
      : absolute("--modules-dir", values["modules-dir"]),
    loadModules: values["load-modules"],
  };
}
