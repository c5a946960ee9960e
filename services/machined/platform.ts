/**
 * What differs between machined's two runtime modes, as one small
 * interface: process mode (a plain process with a state folder, daemons run
 * from sources) and image mode (PID 1 in the image, daemons run from bundles,
 * the bus on the node's loopback, reboots that end the machine).
 * @module
 */
import type { ProcessRunner } from "./runner/process_runner.ts";

/** Where daemons come from and how they are started. */
export interface PlatformLaunch {
  /** Source root (process mode) or bundle folder (image mode); children's cwd. */
  root: string;
  /** The Deno binary. */
  denoPath: string;
  /** Run `<bundleDir>/<dir>.js` bundles instead of sources. */
  bundleDir?: string;
  /** Host nats-server listens on (default: the node address). */
  busHost?: string;
  /** networkd applies the network section (`--apply`). */
  applyNetwork?: boolean;
  /** udevd-lite loads the modules devices ask for (`--load-modules`). */
  loadModules?: boolean;
  /** Each service runs under its own uid, gid and capabilities (image mode). */
  dropPrivileges?: boolean;
}

/** The platform machined runs on. */
export interface Platform {
  /** What Version reports as the platform. */
  readonly info: { name: string; mode: string };
  /** How daemons run. */
  readonly launch: PlatformLaunch;
  /**
   * Reboot restarts every service in place (process mode); otherwise it
   * stops them and run() returns, the caller then reboots the machine.
   */
  readonly rebootInPlace: boolean;
  /** Starts processes (default: a GroupProcessRunner). */
  readonly runner?: ProcessRunner;
  /**
   * Persists a config applied through the API (ApplyConfiguration); absent
   * where the config is not machined's to change (process mode: --config).
   */
  saveConfig?(yaml: string): Promise<void>;
  /**
   * Waits until the node address is configured. Where given (image mode:
   * networkd configures it), trustd and apid wait for the address instead
   * of for networkd, and the daemons start side by side.
   */
  waitForAddress?(signal: AbortSignal): Promise<void>;
  /**
   * Folders the file API serves besides machined's state folder, /proc and
   * /sys (image mode: the state partition and the ephemeral logs).
   */
  readonly fileRoots?: readonly string[];
}

/** Process mode: sources from `root`, the bus on the node address. */
export function processPlatform(root: string): Platform {
  return {
    info: { name: "process", mode: "process" },
    launch: { root, denoPath: Deno.execPath() },
    rebootInPlace: true,
  };
}
