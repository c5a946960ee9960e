/**
 * Verifies an upgrade bundle file before a byte of it is installed: size,
 * signature by a trusted key, manifest, architecture, version, and the
 * SHA-256 and size of every part.
 * @module
 */
import { BUNDLE_MAGIC, SIGNATURE_BYTES } from "./bundle_format.ts";
import { sha256Stream } from "./digest.ts";
import {
  compareVersions,
  type Manifest,
  MAX_MANIFEST_BYTES,
  parseManifest,
} from "./manifest.ts";
import type { TrustedKey } from "./release_key.ts";
import { UpgradeRefusedError } from "./upgrade_refused_error.ts";

/** Options for {@linkcode verifyBundle}. */
export interface VerifyBundleOptions {
  /** Keys a release may be signed with. */
  trustedKeys: readonly TrustedKey[];
  /** The largest bundle accepted, in bytes. */
  maxBytes: number;
  /** The version running now (downgrade check). */
  currentVersion: string;
  /** The machine's architecture (default Deno.build.arch). */
  architecture?: string;
  /** Accept a downgrade. */
  force?: boolean;
  /** Cancels the read. */
  signal?: AbortSignal;
}

/** A bundle that passed every check. */
export interface VerifiedBundle {
  /** The signed manifest. */
  manifest: Manifest;
  /** The trusted key that signed it. */
  keyId: string;
  /** Where the parts start in the file. */
  partsOffset: number;
  /** The bundle's size in bytes. */
  size: number;
  /** Hex SHA-256 of the manifest bytes (names the build). */
  manifestSha256: string;
}

/** Reads and checks the bundle at `path`; throws UpgradeRefusedError. */
export async function verifyBundle(
  path: string,
  options: VerifyBundleOptions,
): Promise<VerifiedBundle> {
  const file = await Deno.open(path, { read: true });
  try {
    const size = (await file.stat()).size;
    if (size > options.maxBytes) {
      throw new UpgradeRefusedError(
        "size",
        `bundle is ${size} bytes, the limit is ${options.maxBytes}`,
      );
    }
    const magic = await readExactly(file, BUNDLE_MAGIC.length, size);
    if (!magic || !magic.every((b, i) => b === BUNDLE_MAGIC[i])) {
      throw new UpgradeRefusedError("format", "not a Bronze upgrade bundle");
    }
    const manifestLen = await readU32(file, size);
    if (manifestLen > MAX_MANIFEST_BYTES) {
      throw new UpgradeRefusedError(
        "format",
        `manifest length ${manifestLen} exceeds ${MAX_MANIFEST_BYTES}`,
      );
    }
    const manifestBytes = await readExactly(file, manifestLen, size);
    if (!manifestBytes) {
      throw new UpgradeRefusedError(
        "format",
        "bundle ends inside the manifest",
      );
    }
    const sigLen = await readU32(file, size);
    if (sigLen === 0) {
      throw new UpgradeRefusedError(
        "unsigned",
        "bundle has no signature (unsigned)",
      );
    }
    if (sigLen !== SIGNATURE_BYTES) {
      throw new UpgradeRefusedError(
        "signature",
        `signature is ${sigLen} bytes, an Ed25519 signature is ${SIGNATURE_BYTES}`,
      );
    }
    const signature = await readExactly(file, sigLen, size);
    if (!signature) {
      throw new UpgradeRefusedError(
        "format",
        "bundle ends inside the signature",
      );
    }
    const keyId = await signer(manifestBytes, signature, options.trustedKeys);
    let manifest: Manifest;
    try {
      manifest = parseManifest(new TextDecoder().decode(manifestBytes));
    } catch (cause) {
      throw new UpgradeRefusedError(
        "manifest",
        (cause as Error).message,
        { cause },
      );
    }
    const arch = options.architecture ?? Deno.build.arch;
    if (manifest.architecture !== arch) {
      throw new UpgradeRefusedError(
        "architecture",
        `bundle is for "${manifest.architecture}", this machine is "${arch}"`,
      );
    }
    if (
      !options.force &&
      compareVersions(manifest.version, options.currentVersion) < 0
    ) {
      throw new UpgradeRefusedError(
        "downgrade",
        `bundle version ${manifest.version} is older than the running ${options.currentVersion} (use force to downgrade)`,
      );
    }
    const partsOffset = BUNDLE_MAGIC.length + 8 + manifestLen + sigLen;
    const declared = manifest.parts.reduce((n, p) => n + p.size, 0);
    if (partsOffset + declared !== size) {
      throw new UpgradeRefusedError(
        "manifest",
        `manifest does not match the bytes: it declares ${declared} bytes of parts, the bundle holds ${
          size - partsOffset
        }`,
      );
    }
    for (const [i, part] of manifest.parts.entries()) {
      options.signal?.throwIfAborted();
      const got = await hashPart(file, part.size);
      if (got !== part.sha256) {
        throw new UpgradeRefusedError(
          "manifest",
          `manifest does not match the bytes: part ${i} "${part.name}" has sha256 ${got}, the manifest says ${part.sha256}`,
        );
      }
    }
    const digest = new Uint8Array(
      await crypto.subtle.digest("SHA-256", manifestBytes),
    );
    return {
      manifest,
      keyId,
      partsOffset,
      size,
      manifestSha256: Array.from(
        digest,
        (x) => x.toString(16).padStart(2, "0"),
      ).join(""),
    };
  } finally {
    file.close();
  }
}

async function signer(
  data: Uint8Array<ArrayBuffer>,
  signature: Uint8Array<ArrayBuffer>,
  keys: readonly TrustedKey[],
): Promise<string> {
  for (const k of keys) {
    if (await crypto.subtle.verify("Ed25519", k.key, signature, data)) {
      return k.id;
    }
  }
  const ids = keys.map((k) => k.id).join(", ");
  throw new UpgradeRefusedError(
    "signature",
    keys.length === 0
      ? "bad signature: no release key is trusted on this machine"
      : `bad signature: the manifest is not signed by a trusted key (trusted: ${ids})`,
  );
}

/** Streams `size` bytes of `file` through SHA-256. */
export async function hashPart(
  file: Deno.FsFile,
  size: number,
  sink?: (chunk: Uint8Array) => Promise<void>,
): Promise<string> {
  const hash = sha256Stream();
  const buf = new Uint8Array(256 * 1024);
  let left = size;
  while (left > 0) {
    const n = await file.read(buf.subarray(0, Math.min(left, buf.length)));
    if (n === null) throw new Error("Bundle ended early");
    const chunk = buf.subarray(0, n);
    hash.update(chunk);
    if (sink) await sink(chunk);
    left -= n;
  }
  return hash.digest("hex");
}

async function readExactly(
  file: Deno.FsFile,
  n: number,
  size: number,
): Promise<Uint8Array<ArrayBuffer> | undefined> {
  if (n > size) return undefined;
  const buf = new Uint8Array(n);
  let off = 0;
  while (off < n) {
    const r = await file.read(buf.subarray(off));
    if (r === null) return undefined;
    off += r;
  }
  return buf;
}

async function readU32(file: Deno.FsFile, size: number): Promise<number> {
  const b = await readExactly(file, 4, size);
  if (!b) throw new UpgradeRefusedError("format", "bundle is truncated");
  return new DataView(b.buffer).getUint32(0);
}
