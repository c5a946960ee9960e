/**
 * Builds a signed upgrade bundle from a release folder.
 * @module
 */
import { join } from "node:path";
import { encodeBundleHead } from "./bundle_format.ts";
import { type Manifest, MANIFEST_FORMAT } from "./manifest.ts";
import { sha256Hex } from "./digest.ts";

/** Options for {@linkcode writeBundle}. */
export interface WriteBundleOptions {
  /** The release folder; every part is a file under it. */
  root: string;
  /** Relative paths of the parts, in order. */
  files: readonly string[];
  /** The release tag. */
  version: string;
  /** The architecture (default Deno.build.arch). */
  architecture?: string;
  /** Contents that replace (or add) files by name, e.g. build_info.json. */
  overrides?: Readonly<Record<string, Uint8Array<ArrayBuffer>>>;
  /** The release private key; absent makes an unsigned bundle. */
  privateKey?: CryptoKey;
}

/** Writes the bundle to `out` and returns its manifest. */
export async function writeBundle(
  out: string,
  options: WriteBundleOptions,
): Promise<Manifest> {
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    version: options.version,
    architecture: options.architecture ?? Deno.build.arch,
    parts: [],
  };
  const read = (name: string): Promise<Uint8Array<ArrayBuffer>> =>
    options.overrides?.[name] !== undefined
      ? Promise.resolve(options.overrides[name])
      : Deno.readFile(join(options.root, name));
  const names = [...options.files];
  for (const name of Object.keys(options.overrides ?? {})) {
    if (!names.includes(name)) names.push(name);
  }
  for (const name of names) {
    const bytes = await read(name);
    manifest.parts.push({
      name,
      size: bytes.length,
      sha256: await sha256Hex(bytes),
    });
  }
  const manifestBytes = new TextEncoder().encode(JSON.stringify(manifest));
  const signature = options.privateKey
    ? new Uint8Array(
      await crypto.subtle.sign("Ed25519", options.privateKey, manifestBytes),
    )
    : new Uint8Array(0);
  const file = await Deno.open(out, {
    write: true,
    create: true,
    truncate: true,
    mode: 0o644,
  });
  try {
    await writeAll(file, encodeBundleHead(manifestBytes, signature));
    for (const name of names) {
      await writeAll(file, await read(name));
    }
  } finally {
    file.close();
  }
  return manifest;
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await file.write(bytes.subarray(off));
}
