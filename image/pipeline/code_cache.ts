/**
 * A warm Deno cache for the image: each bundle is compiled once at build
 * time, and Deno's V8 code cache and module-analysis cache are copied into
 * the root with the bundles' paths rewritten to where they live in the
 * image. Deno writes a module's code cache when its evaluation ends, so a
 * program that exits from its top level (Deno.exit on a flag it refuses)
 * would leave none: each bundle is imported by a small warm-up script that
 * turns Deno.exit into a throw, under no permission but reading the
 * bundles, then exits itself. The init copies them into DENO_DIR
 * (/run/deno) before PID 1 starts, so no program parses and compiles its
 * 0.2-1.2 MB bundle from scratch: under TCG that is seconds per program, and
 * the compiler's peak memory (~40 MB per process) is never reached.
 *
 * V8 embeds the path a bundle was compiled at in its code cache, so the
 * bundles are compiled at one fixed path, {@linkcode PREWARM_DIR} (builds
 * take turns through a lock file), and the cache files are rebuilt row by
 * row, sorted: the same bundles give the same bytes.
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { run } from "./exec.ts";

/** The cache files Deno keeps in DENO_DIR that are copied into the image. */
export const CACHE_FILES: readonly string[] = [
  "v8_code_cache_v2",
  "dep_analysis_cache_v2",
];

/** Where bundles are compiled: the same path in every build. */
export const PREWARM_DIR = "/tmp/bronze-image-code-cache/bundles";

/** The argument every bundle refuses (it stops after loading). */
const PREWARM_ARG = "--bronze-code-cache-prewarm";

/** How long one bundle's warm-up may take. */
const WARM_LIMIT_MS = 120_000;

/** The warm-up script's name in PREWARM_DIR (its cache row is dropped). */
const WARM_SCRIPT = ".warm.js";

/**
 * Imports the bundle named by its first argument with Deno.exit made a
 * throw, so the bundle's evaluation ends (and its code cache is written)
 * however the program stops, then exits.
 */
const WARM_SOURCE = `const exit = Deno.exit;
Deno.exit = (code) => {
  throw new Error("exit(" + code + ") while warming the code cache");
};
try {
  await import(new URL(Deno.args[0], import.meta.url).href);
} catch {
  // the program stopped: compiled all the same
}
exit(0);
`;

/** Options for {@linkcode buildCodeCache}. */
export interface CodeCacheOptions {
  /** The Deno binary (the one the image carries). */
  deno: string;
  /** Folder holding the bundles (`<name>.js`); they are copied to PREWARM_DIR. */
  bundleDir: string;
  /** Bundle names to compile. */
  names: readonly string[];
  /**
   * Chunk files beside the bundles (`chunk-<hash>.js`, ...): copied with
   * them and compiled too, so dynamically imported code is warm as well.
   */
  chunks?: readonly string[];
  /** Folder in the image the bundles are at (e.g. /usr/lib/bronze). */
  imageBundleDir: string;
  /**
   * Bundles that live elsewhere in the image: name (`init.js`) to its
   * absolute path there (`/init.js`); compiled too.
   */
  elsewhere?: Readonly<Record<string, string>>;
  /** A scratch DENO_DIR (created). */
  scratchDir: string;
  /** Where the rewritten cache files go (created). */
  outDir: string;
  /** V8 flags the programs run with in the image (the cache is keyed by them). */
  v8Flags?: readonly string[];
  /** Aborts. */
  signal?: AbortSignal;
}

function bundleFiles(options: CodeCacheOptions): string[] {
  return [
    ...options.names.map((n) => `${n}.js`),
    ...Object.keys(options.elsewhere ?? {}),
    ...(options.chunks ?? []),
  ];
}

function fileUrl(dir: string): string {
  return new URL(`file://${dir.replace(/\/?$/, "/")}`).href;
}

/** Compiles each bundle once and writes the image's cache files to outDir. */
export async function buildCodeCache(
  options: CodeCacheOptions,
): Promise<string[]> {
  const top = PREWARM_DIR.slice(0, PREWARM_DIR.lastIndexOf("/"));
  await Deno.mkdir(top, { recursive: true, mode: 0o700 });
  const lock = await Deno.open(`${top}/lock`, {
    read: true,
    write: true,
    create: true,
  });
  try {
    await lock.lock(true);
    await Deno.remove(PREWARM_DIR, { recursive: true }).catch(() => {});
    await Deno.mkdir(PREWARM_DIR, { recursive: true });
    for (const file of bundleFiles(options)) {
      await Deno.copyFile(
        `${options.bundleDir}/${file}`,
        `${PREWARM_DIR}/${file}`,
      );
    }
    await Deno.writeTextFile(`${PREWARM_DIR}/${WARM_SCRIPT}`, WARM_SOURCE);
    return await compileAndCopy(options);
  } finally {
    await Deno.remove(PREWARM_DIR, { recursive: true }).catch(() => {});
    lock.close();
  }
}

async function compileAndCopy(options: CodeCacheOptions): Promise<string[]> {
  await Deno.remove(options.scratchDir, { recursive: true }).catch(() => {});
  await Deno.mkdir(options.scratchDir, { recursive: true });
  await Deno.mkdir(options.outDir, { recursive: true });
  // A chunk imported as a program only defines its exports; either way it
  // is compiled and its code cached. Reading the bundles is all it may do.
  for (const file of bundleFiles(options)) {
    await run(options.deno, [
      "run",
      "--no-prompt",
      "--no-config",
      "--no-lock",
      `--allow-read=${PREWARM_DIR}`,
      ...(options.v8Flags?.length
        ? [`--v8-flags=${options.v8Flags.join(",")}`]
        : []),
      `${PREWARM_DIR}/${WARM_SCRIPT}`,
      `./${file}`,
      PREWARM_ARG,
    ], {
      env: {
        DENO_DIR: options.scratchDir,
        NO_COLOR: "1",
        DENO_NO_UPDATE_CHECK: "1",
      },
      // A program that never ends its evaluation is stopped (and uncached).
      signal: options.signal
        ? AbortSignal.any([options.signal, AbortSignal.timeout(WARM_LIMIT_MS)])
        : AbortSignal.timeout(WARM_LIMIT_MS),
    });
  }
  const from = fileUrl(PREWARM_DIR);
  const to = fileUrl(options.imageBundleDir);
  const moved = new Map(
    Object.entries(options.elsewhere ?? {}).map((
      [name, path],
    ) => [from + name, new URL(`file://${path}`).href]),
  );
  const rename = (specifier: string): string | undefined => {
    if (specifier === from + WARM_SCRIPT) return undefined;
    const m = moved.get(specifier);
    if (m !== undefined) return m;
    return specifier.startsWith(from)
      ? to + specifier.slice(from.length)
      : specifier;
  };
  const written: string[] = [];
  for (const file of CACHE_FILES) {
    const src = `${options.scratchDir}/${file}`;
    try {
      await Deno.stat(src);
    } catch {
      continue; // this Deno keeps no such cache
    }
    const target = `${options.outDir}/${file}`;
    await Deno.remove(target).catch(() => {});
    rewriteCache(src, target, rename);
    written.push(file);
  }
  return written;
}

/**
 * Copies every table of the SQLite cache at `src` into a new file at
 * `target`, rows sorted, each `specifier` renamed by `rename` (a row it
 * answers undefined for is left out).
 */
export function rewriteCache(
  src: string,
  target: string,
  rename: (specifier: string) => string | undefined,
): void {
  const inDb = new DatabaseSync(src, { readOnly: true });
  const outDb = new DatabaseSync(target);
  try {
    outDb.exec("PRAGMA journal_mode=DELETE");
    const tables = inDb.prepare(
      "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    ).all() as Array<{ name: string; sql: string }>;
    for (const t of tables) {
      if (!/^\w+$/.test(t.name)) {
        throw new Error(`Unexpected table name ${JSON.stringify(t.name)}`);
      }
      outDb.exec(t.sql);
      const cols = (inDb.prepare(`PRAGMA table_info(${t.name})`).all() as Array<
        { name: string }
      >).map((c) => c.name);
      const select = inDb.prepare(
        `SELECT ${cols.join(", ")} FROM ${t.name} ORDER BY ${cols[0]}, ${
          cols[1] ?? cols[0]
        }`,
      );
      select.setReadBigInts(true);
      const insert = outDb.prepare(
        `INSERT OR REPLACE INTO ${t.name} (${cols.join(", ")}) VALUES (${
          cols.map(() => "?").join(", ")
        })`,
      );
      outDb.exec("BEGIN");
      for (const row of select.all() as Array<Record<string, unknown>>) {
        const spec = row.specifier;
        const renamed = typeof spec === "string" ? rename(spec) : spec;
        if (typeof spec === "string" && renamed === undefined) continue;
        const values = cols.map((c) => c === "specifier" ? renamed : row[c]);
        insert.run(...(values as Array<string | number | bigint | Uint8Array>));
      }
      outDb.exec("COMMIT");
    }
    outDb.exec("VACUUM");
  } finally {
    inDb.close();
    outDb.close();
  }
}
