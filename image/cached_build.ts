/**
 * A build reused while its inputs are unchanged, for tests and benchmarks:
 * the key hashes every source file the image is made from (image/, lib/,
 * services/, deno.json, deno.lock), the Deno, nats-server, setpriv and etcd binaries, the
 * kernel pin and the options. One cached build is kept; older ones are
 * removed.
 * @module
 */

import {
  buildImage,
  type BuildManifest,
  type BuiltImage,
  builtImageAt,
  type InitramfsCompression,
  OUTPUT_NAMES,
} from "./pipeline/build_image.ts";
import { run, sha256Hex } from "./pipeline/exec.ts";
import { KERNEL_PIN } from "./pipeline/kernel.ts";
import {
  ETCD_PATH,
  NATS_SERVER_PATH,
  SETPRIV_PATH,
} from "../lib/layout/mod.ts";

/** Options for {@linkcode cachedBuild}. */
export interface CachedBuildOptions {
  /** Repository root. */
  repoRoot: string;
  /** Where cached builds live; default <repo>/image/build. */
  buildRoot?: string;
  /** Kernel package cache; default <repo>/image/cache. */
  cacheDir?: string;
  /** Disk size in bytes (0: no disk); default 256 MiB. */
  diskSize?: number;
  /** Compression of the initramfs (default zstd). */
  initramfsCompression?: InitramfsCompression;
  /** Progress messages. */
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  /** Aborts the build. */
  signal?: AbortSignal;
}

const SOURCE_DIRS = ["image", "lib", "services"];
const SOURCE_FILES = ["deno.json", "deno.lock"];
const SKIP = new Set(["image/build", "image/cache", "node_modules", ".tools"]);

async function sourceFiles(
  root: string,
  rel: string,
  out: string[],
): Promise<void> {
  for await (const e of Deno.readDir(`${root}/${rel}`)) {
    const p = `${rel}/${e.name}`;
    if (SKIP.has(p)) continue;
    if (e.isDirectory) await sourceFiles(root, p, out);
    else if (e.isFile && /\.(ts|js|json)$/.test(e.name)) out.push(p);
  }
}

/** The hash of everything a build's bytes depend on. */
export async function buildInputsKey(
  repoRoot: string,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const files: string[] = [...SOURCE_FILES];
  for (const d of SOURCE_DIRS) await sourceFiles(repoRoot, d, files);
  files.sort();
  // The image carries the commit (Version's sha): a new commit is a new build.
  const head = await run("git", ["-C", repoRoot, "rev-parse", "HEAD"]).then(
    (b) => new TextDecoder().decode(b).trim(),
    () => "",
  );
  const parts: string[] = [
    JSON.stringify({ kernel: KERNEL_PIN, extra, head }),
  ];
  for (const f of files) {
    try {
      parts.push(
        `${f} ${await sha256Hex(await Deno.readFile(`${repoRoot}/${f}`))}`,
      );
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }
  for (
    const bin of [Deno.execPath(), NATS_SERVER_PATH, SETPRIV_PATH, ETCD_PATH]
  ) {
    const st = await Deno.stat(bin);
    parts.push(`${bin} ${st.size} ${st.mtime?.getTime()}`);
  }
  return await sha256Hex(new TextEncoder().encode(parts.join("\n")));
}

/** A build for the current inputs: reused when present, made otherwise. */
export async function cachedBuild(
  options: CachedBuildOptions,
): Promise<BuiltImage> {
  const buildRoot = options.buildRoot ?? `${options.repoRoot}/image/build`;
  const diskSize = options.diskSize ?? 256 * 1024 * 1024;
  const compression = options.initramfsCompression ?? "zstd";
  const key = await buildInputsKey(options.repoRoot, { diskSize, compression });
  const name = `cached-${key.slice(0, 16)}`;
  const dir = `${buildRoot}/${name}`;
  try {
    if ((await Deno.readTextFile(`${dir}/.inputs`)).trim() === key) {
      const manifest = JSON.parse(
        await Deno.readTextFile(`${dir}/${OUTPUT_NAMES.manifest}`),
      ) as BuildManifest;
      return builtImageAt(dir, manifest);
    }
  } catch {
    // not built yet
  }
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  const image = await buildImage({
    outDir: dir,
    cacheDir: options.cacheDir ?? `${options.repoRoot}/image/cache`,
    repoRoot: options.repoRoot,
    diskSize,
    initramfsCompression: compression,
    log: options.log,
    signal: options.signal,
  });
  await Deno.remove(`${dir}/stage`, { recursive: true }).catch(() => {});
  await Deno.writeTextFile(`${dir}/.inputs`, key + "\n");
  for await (const e of Deno.readDir(buildRoot)) {
    if (e.isDirectory && e.name.startsWith("cached-") && e.name !== name) {
      await Deno.remove(`${buildRoot}/${e.name}`, { recursive: true }).catch(
        () => {},
      );
    }
  }
  return image;
}

/** The repository root of this checkout. */
export function repoRootOf(moduleUrl: string, up: number): string {
  let u = new URL(".", moduleUrl);
  for (let i = 0; i < up; i++) u = new URL("..", u);
  return u.pathname.replace(/\/$/, "");
}
