/** What Version reports about the build. */
export interface BuildInfo {
  /** Release tag, e.g. "v0.1.0" ("v0.1.0-dev" from a checkout). */
  tag: string;
  /** Git commit of the build ("unknown" if not known). */
  sha: string;
  /** Build (or commit) time, RFC 3339 ("unknown" if not known). */
  built: string;
}

/** The tag of an untagged checkout. */
export const DEV_TAG = "v0.1.0-dev";

/**
 * Finds the build info: `<root>/build_info.json` ({tag, sha, built}, written
 * by the image build), else the git checkout at `root`, else defaults.
 */
export async function readBuildInfo(root: string): Promise<BuildInfo> {
  try {
    const raw: unknown = JSON.parse(
      await Deno.readTextFile(`${root}/build_info.json`),
    );
    if (typeof raw === "object" && raw !== null) {
      const r = raw as Record<string, unknown>;
      return {
        tag: typeof r.tag === "string" ? r.tag : DEV_TAG,
        sha: typeof r.sha === "string" ? r.sha : "unknown",
        built: typeof r.built === "string" ? r.built : "unknown",
      };
    }
  } catch {
    // not an image build
  }
  const sha = await git(root, ["rev-parse", "HEAD"]);
  const built = await git(root, ["log", "-1", "--format=%cI"]);
  const tag = await git(root, ["describe", "--tags", "--exact-match"]);
  return {
    tag: tag ?? DEV_TAG,
    sha: sha ?? "unknown",
    built: built ?? "unknown",
  };
}

async function git(root: string, args: string[]): Promise<string | undefined> {
  try {
    const out = await new Deno.Command("git", {
      args: ["-C", root, ...args],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
    const text = new TextDecoder().decode(out.stdout).trim();
    return out.success && text ? text : undefined;
  } catch {
    return undefined; // no git here
  }
}

/** The build and runtime facts Version reports. */
export function versionInfo(build: BuildInfo): {
  tag: string;
  sha: string;
  built: string;
  denoVersion: string;
  os: string;
  arch: string;
} {
  return {
    tag: build.tag,
    sha: build.sha,
    built: build.built,
    denoVersion: Deno.version.deno,
    os: Deno.build.os,
    arch: Deno.build.arch,
  };
}
