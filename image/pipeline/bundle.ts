/**
 * `deno bundle`: one minified JS file per program (daemon, init, probe),
 * run in the image by one shared Deno runtime.
 * @module
 */

import { run } from "./exec.ts";

/** Options for {@linkcode bundle}. */
export interface BundleOptions {
  /** The Deno binary doing the bundling. */
  deno: string;
  /** Project root (where deno.json and its import map are). */
  cwd: string;
  /** Aborts the bundler. */
  signal?: AbortSignal;
}

/** Bundles `entry` (a path relative to `cwd`) into the file `out`. */
export async function bundle(
  entry: string,
  out: string,
  options: BundleOptions,
): Promise<void> {
  try {
    await run(options.deno, [
      "bundle",
      "--quiet",
      "--platform",
      "deno",
      "--minify",
      "--keep-names",
      "--no-lock",
      "-o",
      out,
      entry,
    ], {
      cwd: options.cwd,
      env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
      signal: options.signal,
    });
  } catch (cause) {
    throw new Error(`Cannot bundle ${JSON.stringify(entry)}`, { cause });
  }
}
