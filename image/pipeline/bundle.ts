/**
 * `deno bundle`: one minified JS file per program (daemon, init, probe),
 * run in the image by one shared Deno runtime. With code splitting, what a
 * program only imports dynamically (X.509 in machined and trustd, the
 * trustd client, maintenance mode) goes to chunk files beside it, read and
 * compiled only when the program gets there.
 * @module
 */

import { basename, dirname, join } from "node:path";
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
  /**
   * Put dynamically imported code into chunk files beside the output
   * (`chunk-<hash>.js`, `<module>-<hash>.js`; default false). Chunks of
   * different programs may share a folder: a chunk's name holds a hash of
   * its content.
   */
  codeSplitting?: boolean;
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
 * Bundles `entry` (a path relative to `cwd`) into the file `out`, minified,
 * and returns the names of the chunk files written beside it (none without
 * code splitting). esbuild's minifier (deno 2.9) inlines a `using` variable
 * that is used once, and the resource is then never disposed (seen: a file
 * descriptor kept open, so a partition could not be unmounted); so the
 * entry is also bundled without minifying, and the build fails if minifying
 * lost a `using` declaration.
 */
export async function bundle(
  entry: string,
  out: string,
  options: BundleOptions,
): Promise<string[]> {
  const scratch = await Deno.makeTempDir({ prefix: "bronze-bundle-" });
  try {
    const minified = await esbuild(entry, `${scratch}/min`, true, options);
    const plain = await esbuild(entry, `${scratch}/plain`, false, options);
    const want = await usingDeclarationsIn(`${scratch}/plain`, plain);
    const got = await usingDeclarationsIn(`${scratch}/min`, minified);
    if (got !== want) {
      throw new Error(
        `Cannot bundle ${JSON.stringify(entry)}: minifying dropped ${
          want - got
        } of ${want} \`using\` declarations (esbuild inlines a single-use \`using\` variable and never disposes it); use try/finally there`,
      );
    }
    const entryFile = basename(entry).replace(/\.[cm]?[jt]sx?$/, ".js");
    const chunks = minified.filter((f) => f !== entryFile);
    if (!minified.includes(entryFile)) {
      throw new Error(
        `Cannot bundle ${JSON.stringify(entry)}: esbuild wrote no ${entryFile}`,
      );
    }
    const banner = (options.nodeRequire ?? true) ? REQUIRE_BANNER : "";
    await Deno.writeTextFile(
      out,
      banner + await Deno.readTextFile(`${scratch}/min/${entryFile}`),
    );
    for (const chunk of chunks) {
      await placeChunk(
        `${scratch}/min/${chunk}`,
        join(dirname(out), chunk),
        banner,
      );
    }
    return chunks;
  } finally {
    await Deno.remove(scratch, { recursive: true });
  }
}

/** Runs `deno bundle` into `outDir`; returns the file names it wrote. */
async function esbuild(
  entry: string,
  outDir: string,
  minify: boolean,
  options: BundleOptions,
): Promise<string[]> {
  try {
    await run(options.deno, [
      "bundle",
      "--quiet",
      // The packages' runtime-neutral builds ("browser"/"default" export
      // conditions), not their Node ones: yaml's Node build imports
      // node:process and node:buffer at load, which would start Deno's
      // Node layer in every daemon that parses YAML (machined).
      "--platform",
      "browser",
      ...(minify ? ["--minify", "--keep-names"] : []),
      ...(options.codeSplitting ? ["--code-splitting"] : []),
      // grpc-js requires proto-loader (and with it protobufjs) only to serve
      // channelz, which no daemon registers: left out, the bundles of apid,
      // trustd and machined lose ~150 KB each, which every start parses
      // and every process keeps as source. A call that needs it fails with
      // the require shim's "Cannot find module".
      "--external",
      "@grpc/proto-loader",
      "--no-lock",
      "--outdir",
      outDir,
      entry,
    ], {
      cwd: options.cwd,
      env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
      signal: options.signal,
    });
  } catch (cause) {
    throw new Error(`Cannot bundle ${JSON.stringify(entry)}`, { cause });
  }
  const files: string[] = [];
  for await (const e of Deno.readDir(outDir)) {
    if (!e.isFile || !e.name.endsWith(".js")) {
      throw new Error(
        `Cannot bundle ${JSON.stringify(entry)}: unexpected output ${
          JSON.stringify(e.name)
        }`,
      );
    }
    files.push(e.name);
  }
  return files.sort();
}

async function usingDeclarationsIn(
  dir: string,
  files: readonly string[],
): Promise<number> {
  let n = 0;
  for (const f of files) {
    n += countUsingDeclarations(await Deno.readTextFile(`${dir}/${f}`));
  }
  return n;
}

/**
 * Writes `banner` + the chunk at `from` to `to`. A chunk already there from
 * another program must be the same bytes (its name holds its content's hash).
 */
async function placeChunk(
  from: string,
  to: string,
  banner: string,
): Promise<void> {
  const code = banner + await Deno.readTextFile(from);
  const existing = await Deno.readTextFile(to).catch(() => undefined);
  if (existing === undefined) await Deno.writeTextFile(to, code);
  else if (existing !== code) {
    throw new Error(
      `Cannot bundle: two programs made different ${basename(to)}`,
    );
  }
}
