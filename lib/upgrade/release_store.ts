/**
 * Process-mode releases kept side by side under a node's state:
 *
 *     releases/<version>-<id>/   one verified release (a source tree)
 *     releases/current  -> <name>   what the launcher starts (switched by rename)
 *     releases/previous -> <name>   what rollback returns to
 *     releases/trial               the release being tried: "from to deadline"
 *
 * A new release is written to a hidden folder, re-hashed part by part while
 * it is written, and renamed into place only when every part matched; the
 * `current` link is replaced with rename(2), so a crash at any step leaves
 * either the old or the new link, never none.
 * @module
 */
import { dirname, join } from "node:path";
import { hashPart, type VerifiedBundle } from "./bundle_verify.ts";

/** The name of the `current` link. */
export const CURRENT_LINK = "current";
/** The name of the `previous` link. */
export const PREVIOUS_LINK = "previous";
/** The trial file's name. */
export const TRIAL_FILE = "trial";

/** The release on trial: where it came from and until when it may try. */
export interface Trial {
  /** The release that ran before (fallback). */
  from: string;
  /** The release being tried. */
  to: string;
  /** Unix ms after which the trial is abandoned. */
  deadline: number;
}

const NAME = /^[A-Za-z0-9._+-]{1,128}$/;

/** The releases of one node. */
export class ReleaseStore {
  readonly #dir: string;

  /** A store in `dir` (STATE/releases). */
  constructor(dir: string) {
    this.#dir = dir;
  }

  /** The store's folder. */
  get dir(): string {
    return this.#dir;
  }

  /** The folder of release `name`. */
  path(name: string): string {
    checkName(name);
    return join(this.#dir, name);
  }

  /** Names of the installed releases, sorted. */
  async list(): Promise<string[]> {
    const out: string[] = [];
    try {
      for await (const e of Deno.readDir(this.#dir)) {
        if (e.isDirectory && !e.name.startsWith(".")) out.push(e.name);
      }
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    return out.sort();
  }

  /** The release `current` names, if any. */
  current(): Promise<string | undefined> {
    return this.#readLink(CURRENT_LINK);
  }

  /** The release `previous` names, if any. */
  previous(): Promise<string | undefined> {
    return this.#readLink(PREVIOUS_LINK);
  }

  /**
   * Writes the verified bundle at `bundlePath` as a release and returns its
   * name; the bytes are hashed again as they are written, and nothing is
   * renamed into place unless all of them still match the manifest.
   */
  async install(
    bundlePath: string,
    verified: VerifiedBundle,
    signal?: AbortSignal,
  ): Promise<string> {
    const name = `${verified.manifest.version}-${
      verified.manifestSha256.slice(0, 12)
    }`;
    checkName(name);
    const dest = join(this.#dir, name);
    if (await exists(dest)) return name; // the same signed build, already here
    await Deno.mkdir(this.#dir, { recursive: true, mode: 0o700 });
    const staging = join(
      this.#dir,
      `.incoming-${name}-${crypto.randomUUID().slice(0, 8)}`,
    );
    await Deno.mkdir(staging, { mode: 0o700 });
    const file = await Deno.open(bundlePath, { read: true });
    try {
      await file.seek(verified.partsOffset, Deno.SeekMode.Start);
      for (const part of verified.manifest.parts) {
        signal?.throwIfAborted();
        const target = join(staging, part.name);
        await Deno.mkdir(dirname(target), { recursive: true });
        const out = await Deno.open(target, {
          write: true,
          createNew: true,
          mode: 0o644,
        });
        let got: string;
        try {
          got = await hashPart(file, part.size, async (chunk) => {
            let off = 0;
            while (off < chunk.length) {
              off += await out.write(chunk.subarray(off));
            }
          });
          await out.sync();
        } finally {
          out.close();
        }
        if (got !== part.sha256) {
          throw new Error(
            `Cannot install release "${name}": part "${part.name}" changed since it was verified`,
          );
        }
      }
      await Deno.rename(staging, dest);
    } catch (err) {
      await Deno.remove(staging, { recursive: true }).catch(() => {});
      throw err;
    } finally {
      file.close();
    }
    return name;
  }

  /** Points `current` at release `name` (atomically) and remembers the old one. */
  async activate(name: string): Promise<void> {
    checkName(name);
    if (!(await exists(join(this.#dir, name)))) {
      throw new Error(`Cannot activate release "${name}": it is not installed`);
    }
    const old = await this.current();
    if (old !== undefined && old !== name) {
      await this.#link(PREVIOUS_LINK, old);
    }
    await this.#link(CURRENT_LINK, name);
  }

  /** Starts a trial of `to` from `from`, ending at `deadline` (unix ms). */
  async beginTrial(trial: Trial): Promise<void> {
    checkName(trial.from);
    checkName(trial.to);
    await writeAtomic(
      join(this.#dir, TRIAL_FILE),
      `${trial.from} ${trial.to} ${trial.deadline}\n`,
    );
  }

  /** The trial under way, if any. */
  async trial(): Promise<Trial | undefined> {
    let text: string;
    try {
      text = await Deno.readTextFile(join(this.#dir, TRIAL_FILE));
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return undefined;
      throw err;
    }
    const [from, to, deadline] = text.trim().split(" ");
    if (
      !from || !to || !NAME.test(from) || !NAME.test(to) ||
      !/^\d+$/.test(deadline ?? "")
    ) {
      throw new Error(
        `Cannot read trial file ${join(this.#dir, TRIAL_FILE)}: ${
          JSON.stringify(text)
        }`,
      );
    }
    return { from, to, deadline: Number(deadline) };
  }

  /** The tried release became healthy: it stays current. */
  async commitTrial(): Promise<void> {
    await Deno.remove(join(this.#dir, TRIAL_FILE)).catch((err) => {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    });
  }

  /** The tried release failed: `current` goes back to where it came from. */
  async abandonTrial(): Promise<Trial | undefined> {
    const t = await this.trial();
    if (t === undefined) return undefined;
    await this.#link(CURRENT_LINK, t.from);
    await this.#link(PREVIOUS_LINK, t.to);
    await this.commitTrial();
    return t;
  }

  /** Swaps `current` and `previous`; refused when there is no previous. */
  async rollback(): Promise<{ from: string; to: string }> {
    const cur = await this.current();
    const prev = await this.previous();
    if (cur === undefined || prev === undefined) {
      throw new Error("Cannot roll back: there is no previous release");
    }
    if (!(await exists(join(this.#dir, prev, "services")))) {
      throw new Error(
        `Cannot roll back: the previous release "${prev}" holds nothing runnable`,
      );
    }
    await this.#link(CURRENT_LINK, prev);
    await this.#link(PREVIOUS_LINK, cur);
    return { from: cur, to: prev };
  }

  async #readLink(link: string): Promise<string | undefined> {
    try {
      const t = await Deno.readLink(join(this.#dir, link));
      return NAME.test(t) ? t : undefined;
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return undefined;
      throw err;
    }
  }

  async #link(link: string, target: string): Promise<void> {
    await Deno.mkdir(this.#dir, { recursive: true, mode: 0o700 });
    const tmp = join(this.#dir, `.${link}-${crypto.randomUUID().slice(0, 8)}`);
    await Deno.symlink(target, tmp);
    try {
      await Deno.rename(tmp, join(this.#dir, link));
    } catch (err) {
      await Deno.remove(tmp).catch(() => {});
      throw err;
    }
  }
}

function checkName(name: string): void {
  if (!NAME.test(name) || name === "." || name === "..") {
    throw new Error(`Invalid release name ${JSON.stringify(name)}`);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp-${crypto.randomUUID().slice(0, 8)}`;
  await Deno.writeTextFile(tmp, text, { mode: 0o600 });
  await Deno.rename(tmp, path);
}
