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
  /**
   * Prepend {@linkcode REQUIRE_BANNER} (default true). Off for the
   * initramfs init: createRequire needs /proc, which it has not mounted yet.
   */
  nodeRequire?: boolean;
}

/**
 * Prepended to every bundle: esbuild turns the `require("node:net")` of CJS
 * npm packages (grpc-js, nats) into a shim that throws "Dynamic require of
 * ... is not supported" unless a module-scope `require` exists; this makes
 * one from node:module.
 */
export const REQUIRE_BANNER =
  'import{createRequire as __bronzeCreateRequire}from"node:module";var require=__bronzeCreateRequire(import.meta.url);\n';

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
  if (options.nodeRequire ?? true) {
    const code = await Deno.readTextFile(out);
    await Deno.writeTextFile(out, REQUIRE_BANNER + code);
  }
}
