/**
 * The upgrade transaction in process mode: a signed bundle is verified
 * (nothing is written until it passes), installed beside the running
 * release, made `current` with a trial deadline, and machined restarts
 * into it; the new build commits itself once every service is Running and
 * healthy, and returns to the previous release when the deadline passes
 * first. Rollback makes the previous release current again.
 * @module
 */
import { basename, join } from "node:path";
import type { Logger } from "../../../lib/log/mod.ts";
import {
  parseTrustedKeys,
  ReleaseStore,
  TRUSTED_KEYS_FILE,
  type TrustedKey,
  verifyBundle,
} from "../../../lib/upgrade/mod.ts";

/** The largest bundle accepted (bytes). */
export const UPGRADE_MAX_BYTES = 256 * 1024 * 1024;

/** How long a new build may take to become healthy (ms). */
export const UPGRADE_TRIAL_MS = 90_000;

/** Options for {@linkcode ReleaseUpgrades}. */
export interface ReleaseUpgradesOptions {
  /** The node's state folder (releases live in STATE/releases). */
  stateDir: string;
  /** The running source root. */
  root: string;
  /** The running release tag (Version's tag). */
  version: () => string;
  /** Public keys (PEM) the machine config adds (machine.install.trustedKeys). */
  configKeys: () => readonly string[];
  /** The bundle size limit (default UPGRADE_MAX_BYTES). */
  maxBytes?: number;
  /** The trial deadline (default UPGRADE_TRIAL_MS, or BRONZE_UPGRADE_TRIAL_MS). */
  trialMs?: number;
  /** machined's logger. */
  log: Logger;
}

/** What an accepted upgrade or rollback leads to. */
export interface ReleaseSwitch {
  /** Human-readable summary for the reply. */
  ack: string;
  /** The source root to restart into (absent when staged). */
  restartRoot?: string;
}

/** Upgrades and rollbacks of a process-mode node. */
export class ReleaseUpgrades {
  readonly #o: ReleaseUpgradesOptions;
  readonly store: ReleaseStore;
  #busy = false;

  /** Sets up (reads nothing yet). */
  constructor(options: ReleaseUpgradesOptions) {
    this.#o = options;
    this.store = new ReleaseStore(join(options.stateDir, "releases"));
  }

  /** The trial deadline in ms. */
  get trialMs(): number {
    return this.#o.trialMs ?? UPGRADE_TRIAL_MS;
  }

  /** The release name the running root is ("base" for a plain checkout). */
  async runningName(): Promise<string> {
    const real = await Deno.realPath(this.#o.root);
    const releases = await Deno.realPath(this.store.dir).catch(() => "");
    return releases && real.startsWith(`${releases}/`)
      ? basename(real)
      : "base";
  }

  /** Keys the running build trusts plus the config's. */
  async trustedKeys(): Promise<TrustedKey[]> {
    const keys: TrustedKey[] = [];
    const file = join(this.#o.root, TRUSTED_KEYS_FILE);
    let text: string | undefined;
    try {
      text = await Deno.readTextFile(file);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    if (text !== undefined && text.trim() !== "") {
      keys.push(...await parseTrustedKeys(text, file));
    }
    for (const [i, pem] of this.#o.configKeys().entries()) {
      keys.push(
        ...await parseTrustedKeys(pem, `.machine.install.trustedKeys[${i}]`),
      );
    }
    return keys;
  }

  /**
   * Verifies and installs the bundle at `image`, makes it current and
   * starts its trial. Throws UpgradeRefusedError before writing anything.
   */
  async upgrade(
    image: string,
    options: { force: boolean; stage: boolean; signal?: AbortSignal },
  ): Promise<ReleaseSwitch> {
    if (this.#busy) throw new Error("Another upgrade or rollback is under way");
    this.#busy = true;
    try {
      const verified = await verifyBundle(image, {
        trustedKeys: await this.trustedKeys(),
        maxBytes: this.#o.maxBytes ?? UPGRADE_MAX_BYTES,
        currentVersion: this.#o.version(),
        force: options.force,
        signal: options.signal,
      });
      const from = await this.#ensureBase();
      const name = await this.store.install(image, verified, options.signal);
      if (name === from) {
        throw new Error(`Release "${name}" is already running`);
      }
      await this.store.activate(name);
      await this.store.beginTrial({
        from,
        to: name,
        deadline: options.stage ? 0 : Date.now() + this.trialMs,
      });
      this.#o.log.info("upgrade installed", {
        release: name,
        from,
        key: verified.keyId,
        staged: options.stage,
      });
      const ack =
        `${verified.manifest.version} installed as ${name} (signed by ${verified.keyId}); ${
          options.stage ? "staged for the next start" : "restarting into it"
        }`;
      return {
        ack,
        restartRoot: options.stage ? undefined : this.store.path(name),
      };
    } finally {
      this.#busy = false;
    }
  }

  /** Makes the previous release current; restarts into it. */
  async rollback(): Promise<ReleaseSwitch> {
    if (this.#busy) throw new Error("Another upgrade or rollback is under way");
    this.#busy = true;
    try {
      await this.store.commitTrial();
      const { from, to } = await this.store.rollback();
      this.#o.log.info("rollback", { from, to });
      return {
        ack: `rolled back from ${from} to ${to}`,
        restartRoot: this.store.path(to),
      };
    } finally {
      this.#busy = false;
    }
  }

  /**
   * At boot: when the running release is on trial, waits for `healthy()`
   * until the deadline; commits on success, else abandons the trial and
   * returns the root to restart into.
   */
  async watchTrial(
    healthy: () => boolean,
    signal: AbortSignal,
  ): Promise<string | undefined> {
    const trial = await this.store.trial();
    if (trial === undefined) return undefined;
    const running = await this.runningName();
    if (trial.to !== running) {
      // The new build never started (or was left): this one stays.
      await this.store.abandonTrial();
      this.#o.log.warn("upgrade abandoned", { release: trial.to, running });
      return undefined;
    }
    let deadline = trial.deadline;
    if (deadline === 0) {
      deadline = Date.now() + this.trialMs;
      await this.store.beginTrial({ ...trial, deadline });
    }
    while (!signal.aborted && Date.now() < deadline) {
      if (healthy()) {
        await this.store.commitTrial();
        this.#o.log.info("upgrade committed", { release: running });
        return undefined;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    if (signal.aborted) return undefined;
    await this.store.abandonTrial();
    this.#o.log.error(
      "upgrade not healthy in time: back to the previous release",
      {
        release: running,
        previous: trial.from,
      },
    );
    return this.store.path(trial.from);
  }

  /** The release name of the running tree, linking a plain checkout as "base". */
  async #ensureBase(): Promise<string> {
    const running = await this.runningName();
    if (running !== "base") return running;
    await Deno.mkdir(this.store.dir, { recursive: true, mode: 0o700 });
    const link = join(this.store.dir, "base");
    const target = await Deno.realPath(this.#o.root);
    try {
      if ((await Deno.readLink(link)) !== target) {
        await Deno.remove(link);
        await Deno.symlink(target, link);
      }
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
      await Deno.symlink(target, link);
    }
    if ((await this.store.current()) === undefined) {
      await this.store.activate("base");
    }
    return "base";
  }
}
