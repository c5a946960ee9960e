/**
 * The upgrade bundle's manifest: what the release is (version,
 * architecture) and the size and SHA-256 of every part, in order.
 * @module
 */

/** The manifest's format tag. */
export const MANIFEST_FORMAT = "bronze-upgrade/1";

/** The largest manifest accepted (bytes). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** The most parts a bundle may hold. */
export const MAX_PARTS = 20_000;

/** One part of a bundle: a file of the release. */
export interface ManifestPart {
  /** Relative path inside the release ("services/machined/main.ts"). */
  name: string;
  /** Size in bytes. */
  size: number;
  /** Lower-case hex SHA-256 of the bytes. */
  sha256: string;
}

/** The signed description of a bundle. */
export interface Manifest {
  /** Always MANIFEST_FORMAT. */
  format: typeof MANIFEST_FORMAT;
  /** Release tag, e.g. "v0.2.0". */
  version: string;
  /** Deno.build.arch of the release ("x86_64", "aarch64"). */
  architecture: string;
  /** Every part, in the order its bytes follow the signature. */
  parts: ManifestPart[];
}

const NAME = /^[A-Za-z0-9_.@+-]+(\/[A-Za-z0-9_.@+-]+)*$/;
const VERSION = /^v?\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/;

/**
 * Parses and validates manifest JSON; every problem names the field
 * (`parts[3].sha256`) and the value.
 */
export function parseManifest(text: string): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new Error("Cannot parse manifest: not JSON", { cause });
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new Error("Cannot parse manifest: not an object");
  }
  const r = raw as Record<string, unknown>;
  for (const k of Object.keys(r)) {
    if (!["format", "version", "architecture", "parts"].includes(k)) {
      throw new Error(`Cannot parse manifest: unknown field "${k}"`);
    }
  }
  if (r.format !== MANIFEST_FORMAT) {
    throw new Error(
      `Cannot parse manifest: format ${
        JSON.stringify(r.format)
      }, expected "${MANIFEST_FORMAT}"`,
    );
  }
  if (typeof r.version !== "string" || !VERSION.test(r.version)) {
    throw new Error(
      `Cannot parse manifest: version ${
        JSON.stringify(r.version)
      } is not a release tag like "v1.2.3"`,
    );
  }
  if (
    typeof r.architecture !== "string" ||
    !/^[a-z0-9_]{1,32}$/.test(r.architecture)
  ) {
    throw new Error(
      `Cannot parse manifest: architecture ${
        JSON.stringify(r.architecture)
      } is invalid`,
    );
  }
  if (!Array.isArray(r.parts) || r.parts.length === 0) {
    throw new Error("Cannot parse manifest: parts must be a non-empty list");
  }
  if (r.parts.length > MAX_PARTS) {
    throw new Error(
      `Cannot parse manifest: ${r.parts.length} parts, at most ${MAX_PARTS}`,
    );
  }
  const seen = new Set<string>();
  const parts: ManifestPart[] = r.parts.map((p: unknown, i: number) => {
    const at = `parts[${i}]`;
    if (typeof p !== "object" || p === null) {
      throw new Error(`Cannot parse manifest: ${at} is not an object`);
    }
    const q = p as Record<string, unknown>;
    if (
      typeof q.name !== "string" || q.name.length > 512 || !NAME.test(q.name) ||
      q.name.split("/").some((s) => s === "." || s === "..")
    ) {
      throw new Error(
        `Cannot parse manifest: ${at}.name ${
          JSON.stringify(q.name)
        } is not a relative path`,
      );
    }
    if (seen.has(q.name)) {
      throw new Error(
        `Cannot parse manifest: ${at}.name "${q.name}" appears twice`,
      );
    }
    seen.add(q.name);
    if (
      typeof q.size !== "number" || !Number.isSafeInteger(q.size) || q.size < 0
    ) {
      throw new Error(
        `Cannot parse manifest: ${at}.size ${
          JSON.stringify(q.size)
        } is invalid`,
      );
    }
    if (typeof q.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(q.sha256)) {
      throw new Error(
        `Cannot parse manifest: ${at}.sha256 ${
          JSON.stringify(q.sha256)
        } is not 64 hex digits`,
      );
    }
    return { name: q.name, size: q.size, sha256: q.sha256 };
  });
  return {
    format: MANIFEST_FORMAT,
    version: r.version,
    architecture: r.architecture,
    parts,
  };
}

/**
 * Compares two release tags by their numbers ("v0.10.0" > "v0.9.1"); a
 * pre-release ("-dev") sorts before its release. Returns -1, 0 or 1.
 */
export function compareVersions(a: string, b: string): number {
  const pa = splitVersion(a);
  const pb = splitVersion(b);
  for (let i = 0; i < 3; i++) {
    if (pa.nums[i] !== pb.nums[i]) return pa.nums[i] < pb.nums[i] ? -1 : 1;
  }
  if (pa.pre === pb.pre) return 0;
  if (pa.pre === "") return 1;
  if (pb.pre === "") return -1;
  return pa.pre < pb.pre ? -1 : 1;
}

function splitVersion(v: string): { nums: number[]; pre: string } {
  const m = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?/.exec(v);
  if (!m) throw new Error(`Cannot compare version "${v}": not a release tag`);
  return { nums: [Number(m[1]), Number(m[2]), Number(m[3])], pre: m[4] ?? "" };
}
