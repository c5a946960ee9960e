import {
  checkNodeFlags,
  NODE_FLAG_OPTIONS,
  type NodeFlags,
  parseFlags,
} from "../../lib/daemon/mod.ts";

/** udevd-lite's command line. */
export interface UdevdFlags extends NodeFlags {
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

function absolute(flag: string, v: string): string {
  if (!v.startsWith("/") || v.split("/").includes("..")) {
    throw new Error(`${flag} ${JSON.stringify(v)} is not an absolute path`);
  }
  return v.length > 1 ? v.replace(/\/+$/, "") : v;
}

/** Parses udevd-lite's flags strictly: unknown flags and bad values throw. */
export function parseUdevdFlags(args: string[]): UdevdFlags {
  const { values, positionals } = parseFlags(
    args,
    {
      ...NODE_FLAG_OPTIONS,
      sys: { type: "string", default: "/sys" },
      "modules-dir": { type: "string" },
      "load-modules": { type: "boolean", default: false },
    },
    { allowPositionals: true },
  );
  return {
    ...checkNodeFlags(values, positionals),
    sys: absolute("--sys", values.sys),
    modulesDir: values["modules-dir"] === undefined
      ? undefined
      : absolute("--modules-dir", values["modules-dir"]),
    loadModules: values["load-modules"],
  };
}
