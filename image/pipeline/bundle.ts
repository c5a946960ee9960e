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
 * Prepended to every daemon bundle: esbuild turns the `require("node:net")`
 * of CJS npm packages (grpc-js) into a shim that throws "Dynamic require of
 * ... is not supported" unless a module-scope `require` exists. This one
 * hands out Node's built-in modules (`node:` names) on first use, through
 * `process.getBuiltinModule`, and nothing else: every other import is in
 * the bundle. It is lazy on purpose: touching `process` or importing
 * node:module at load starts Deno's Node compatibility layer (~8 MB, and
 * ~0.5 s of a start under TCG) even in a daemon that never needs it
 * (networkd, udevd-lite).
 */
export const REQUIRE_BANNER =
  'var require=(id)=>{const m=String(id).startsWith("node:")?globalThis.process.getBuiltinModule(id):undefined;if(m===undefined)throw new Error(`Cannot find module ${JSON.stringify(id)}: a bundle carries everything but Node built-ins`);return m};\n';

/**
 * The bindings `using` declarations make in JS source (`using a = f(), b =
 * g(a);` makes two), counted before and after minifying: the minifier may
 * merge two declarations into one, but must not lose a binding.
 */
export function countUsingDeclarations(code: string): number {
  let count = 0;
  const declaration = /\b(?:await\s+)?using\s+[A-Za-z_$][\w$]*\s*=(?!=)/g;
  for (const m of code.matchAll(declaration)) {
    count++;
    let depth = 0;
    for (let i = m.index + m[0].length; i < code.length; i++) {
      const c = code[i];
      if (c === '"' || c === "'" || c === "`") {
        for (i++; i < code.length && code[i] !== c; i++) {
          if (code[i] === "\\") i++;
        }
      } else if (c === "(" || c === "[" || c === "{") depth++;
      else if (c === ")" || c === "]" || c === "}") {
        if (depth-- === 0) break;
      } else if (depth === 0 && (c === ";" || c === "\n")) break;
      else if (depth === 0 && c === ",") count++;
    }
  }
  return count;
}

/**
 * Bundles `entry` (a path relative to `cwd`) into the file `out`, minified.
 * esbuild's minifier (deno 2.9) inlines a `using` variable that is used
 * once, and the resource is then never disposed (seen: a file descriptor
 * kept open, so a partition could not be unmounted); so the entry is also
 * bundled without minifying, and the build fails if minifying lost a
 * `using` declaration.
 */
export async function bundle(
  entry: string,
  out: string,
  options: BundleOptions,
): Promise<void> {
  const esbuild = (file: string, minify: boolean) =>
    run(options.deno, [
      "bundle",
      "--quiet",
      // The packages' runtime-neutral builds ("browser"/"default" export
      // conditions), not their Node ones: yaml's Node build imports
      // node:process and node:buffer at load, which would start Deno's
      // Node layer in every daemon that parses YAML (machined).
      "--platform",
      "browser",
      ...(minify ? ["--minify", "--keep-names"] : []),
      // grpc-js requires proto-loader (and with it protobufjs) only to serve
      // channelz, which no daemon registers: left out, the bundles of apid,
      // trustd and machined lose ~150 KB each, which every start parses
      // and every process keeps as source. A call that needs it fails with
      // the require shim's "Cannot find module".
      "--external",
      "@grpc/proto-loader",
      "--no-lock",
      "-o",
      file,
      entry,
    ], {
      cwd: options.cwd,
      env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
      signal: options.signal,
    });
  const plain = `${out}.plain.js`;
  try {
    await esbuild(out, true);
    await esbuild(plain, false);
  } catch (cause) {
    throw new Error(`Cannot bundle ${JSON.stringify(entry)}`, { cause });
  }
  const want = countUsingDeclarations(await Deno.readTextFile(plain));
  await Deno.remove(plain);
  const got = countUsingDeclarations(await Deno.readTextFile(out));
  if (got !== want) {
    throw new Error(
      `Cannot bundle ${JSON.stringify(entry)}: minifying dropped ${
        want - got
      } of ${want} \`using\` declarations (esbuild inlines a single-use \`using\` variable and never disposes it); use try/finally there`,
    );
  }
  if (options.nodeRequire ?? true) {
    const code = await Deno.readTextFile(out);
    await Deno.writeTextFile(out, REQUIRE_BANNER + code);
  }
}
