/**
 * What a process-mode release holds: the files machined and the daemons
 * run from (sources, deno.json, the lock file, build_info.json and the
 * release's trusted keys), never tests.
 * @module
 */
import { join, relative } from "node:path";

/** The file, in a release root, of the public keys the build trusts. */
export const TRUSTED_KEYS_FILE = "release_keys.pem";

/** The build info file Version reads. */
export const BUILD_INFO_FILE = "build_info.json";

const TOP_FILES = [
  "deno.json",
  "deno.lock",
  BUILD_INFO_FILE,
  TRUSTED_KEYS_FILE,
];
const TOP_DIRS = ["services", "lib"];

/** Relative paths of the release files under `root`, sorted. */
export async function listReleaseFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const f of TOP_FILES) {
    try {
      if ((await Deno.stat(join(root, f))).isFile) out.push(f);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }
  for (const d of TOP_DIRS) await walk(root, join(root, d), out);
  return out.sort();
}

async function walk(root: string, dir: string, out: string[]): Promise<void> {
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) await walk(root, p, out);
    else if (e.isFile && !e.name.endsWith("_test.ts")) {
      out.push(relative(root, p));
    }
  }
}
