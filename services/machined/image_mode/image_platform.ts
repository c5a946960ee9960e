/**
 * The image-mode Platform: daemons run from the image's bundles on the shared
 * Deno runtime, the bus on the node's loopback, networkd applying the network
 * and udevd-lite loading modules, reboots that end the machine, configs
 * saved to the state partition.
 * @module
 */
import {
  BUNDLE_DIR,
  DENO_PATH,
  EPHEMERAL_MOUNT,
} from "../../../lib/layout/mod.ts";
import type { Platform } from "../platform.ts";
import type { ProcessRunner } from "../runner/process_runner.ts";
import { sleep } from "../runner/notifier.ts";
import { saveStateConfig } from "./config_source.ts";

/** The bus host in image mode: the node's own loopback. */
export const IMAGE_BUS_HOST = "127.0.0.1";

/** Options for {@linkcode imagePlatform}. */
export interface ImagePlatformOptions {
  /** The node address apid serves on (waited for before apid starts). */
  address: string;
  /** The mounted state partition; undefined when the node has none. */
  stateDir?: string;
  /** Starts processes (tracked for the orphan reaper). */
  runner: ProcessRunner;
}

/** Whether `address` is configured on a local interface. */
export function hasAddress(address: string): boolean {
  return Deno.networkInterfaces().some((i) => i.address === address);
}

/** Waits until `address` is on a local interface (networkd applies it). */
export async function waitForAddress(
  address: string,
  signal: AbortSignal,
): Promise<void> {
  for (let i = 0; !hasAddress(address); i++) {
    if (await sleep(Math.min(50 * (i + 1), 500), signal)) {
      throw new Error(`stopped waiting for address ${address}`);
    }
  }
}

/** Makes the image-mode platform. */
export function imagePlatform(o: ImagePlatformOptions): Platform {
  const stateDir = o.stateDir;
  return {
    info: { name: "metal", mode: "image" },
    launch: {
      root: BUNDLE_DIR,
      denoPath: DENO_PATH,
      bundleDir: BUNDLE_DIR,
      busHost: IMAGE_BUS_HOST,
      applyNetwork: true,
      loadModules: true,
      dropPrivileges: true,
    },
    rebootInPlace: false,
    runner: o.runner,
    saveConfig: stateDir === undefined
      ? undefined
      : (yaml: string) => saveStateConfig(stateDir, yaml),
    waitForAddress: (signal: AbortSignal) => waitForAddress(o.address, signal),
    fileRoots: [
      ...(stateDir === undefined ? [] : [stateDir]),
      `${EPHEMERAL_MOUNT}/log`,
    ],
  };
}
