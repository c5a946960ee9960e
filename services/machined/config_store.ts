/**
 * The accepted machine config, owned by machined in its state folder:
 *
 *     DIR/machine.yaml       the config the node boots with (0600)
 *     DIR/staged.json        a config staged for the next boot, if any
 *     DIR/history.json       the last HISTORY_SIZE accepted configs' records
 *     DIR/history/SEQ.yaml   each of those configs (rollback, diffs)
 *
 * Every file is written atomically (a temporary file, fsync, rename, fsync
 * of the folder), so a power cut or kill -9 leaves the old or the new
 * file, never a mix. machine.yaml is the commit point of an accept: the
 * history record is written after it, and a record lost to a crash is made
 * again at the next open ("recovered").
 * @module
 */
import {
  ConfigValidationError,
  type MachineConfig,
  parseMachineConfig,
} from "../../lib/config/mod.ts";

/** How many accepted configs the history keeps. */
export const HISTORY_SIZE = 16;

/** One accepted config. */
export interface ConfigRecord {
  /** Increasing number of the accept (1 for the first config). */
  seq: number;
  /** When it was accepted (RFC 3339). */
  time: string;
  /** Who: the API caller's certificate CN, "seed" for the first boot's file. */
  actor: string;
  /** How: the apply mode ("no_reboot", "staged", "try", "rollback", ...). */
  mode: string;
  /** sha256 of the YAML, hex. */
  hash: string;
}

/** A config staged for the next boot. */
export interface StagedConfig {
  /** The YAML. */
  yaml: string;
  /** sha256 of the YAML, hex. */
  hash: string;
  /** Who staged it. */
  actor: string;
  /** When (RFC 3339). */
  time: string;
}

/** A config with its text and hash. */
export interface StoredConfig {
  /** The validated config. */
  config: MachineConfig;
  /** Its YAML as accepted. */
  yaml: string;
  /** sha256 of the YAML, hex. */
  hash: string;
}

/** Who accepts a config and how. */
export interface AcceptOptions {
  /** The caller (certificate CN). */
  actor: string;
  /** The apply mode. */
  mode: string;
}

/** Options of {@linkcode ConfigStore.open}. */
export interface ConfigStoreOptions {
  /** The config to start from when the store holds none (first boot). */
  seed?: () => Promise<string>;
  /** The clock (default Date.now). */
  now?: () => number;
}

const encoder = new TextEncoder();

/** sha256 of a text, hex. */
export async function configHash(yaml: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", encoder.encode(yaml));
  return Array.from(
    new Uint8Array(digest),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
}

async function syncDir(dir: string): Promise<void> {
  const d = await Deno.open(dir, { read: true });
  try {
    await d.sync();
  } finally {
    d.close();
  }
}

/**
 * Writes a file atomically and durably: a temporary file in the same
 * folder, fsync, rename over `path`, fsync of the folder.
 */
export async function writeDurable(path: string, text: string): Promise<void> {
  const dir = path.slice(0, path.lastIndexOf("/")) || "/";
  const tmp = `${path}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  const file = await Deno.open(tmp, {
    write: true,
    create: true,
    truncate: true,
    mode: 0o600,
  });
  try {
    const bytes = encoder.encode(text);
    let done = 0;
    while (done < bytes.length) done += await file.write(bytes.subarray(done));
    await file.sync();
  } catch (err) {
    file.close();
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
  file.close();
  await Deno.rename(tmp, path);
  await syncDir(dir);
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw new Error(`Cannot read ${JSON.stringify(path)}`, { cause: err });
  }
}

function isRecord(v: unknown): v is ConfigRecord {
  if (typeof v !== "object" || v === null) return false;
  const r = v as Record<string, unknown>;
  return Number.isSafeInteger(r.seq) && typeof r.time === "string" &&
    typeof r.actor === "string" && typeof r.mode === "string" &&
    typeof r.hash === "string" && /^[0-9a-f]{64}$/.test(r.hash);
}

function parseStored(yaml: string, what: string): MachineConfig {
  try {
    return parseMachineConfig(yaml, what);
  } catch (err) {
    if (err instanceof ConfigValidationError) {
      throw new Error(`Cannot load the stored config: ${err.message}`, {
        cause: err,
      });
    }
    throw err;
  }
}

/** machined's accepted config, its staged successor and its history. */
export class ConfigStore {
  readonly #dir: string;
  readonly #now: () => number;
  #current: StoredConfig;
  #history: ConfigRecord[];
  #staged: StagedConfig | undefined;
  #writing: Promise<unknown> = Promise.resolve();

  private constructor(
    dir: string,
    now: () => number,
    current: StoredConfig,
    history: ConfigRecord[],
    staged: StagedConfig | undefined,
  ) {
    this.#dir = dir;
    this.#now = now;
    this.#current = current;
    this.#history = history;
    this.#staged = staged;
  }

  /**
   * Opens the store in `dir` (made 0700 if absent). With no stored config,
   * the seed is validated and accepted (actor "seed"); without a seed that
   * is an error. A record a crash lost is made again ("recovered").
   */
  static async open(
    dir: string,
    options: ConfigStoreOptions = {},
  ): Promise<ConfigStore> {
    const now = options.now ?? Date.now;
    await Deno.mkdir(`${dir}/history`, { recursive: true, mode: 0o700 });
    await Deno.chmod(dir, 0o700);
    // Temporary files of writes a crash interrupted.
    for (const d of [dir, `${dir}/history`]) {
      for await (const e of Deno.readDir(d)) {
        if (e.isFile && e.name.includes(".tmp-")) {
          await Deno.remove(`${d}/${e.name}`).catch(() => {});
        }
      }
    }
    let history: ConfigRecord[] = [];
    const index = await readText(`${dir}/history.json`);
    if (index !== undefined) {
      try {
        const raw = JSON.parse(index);
        if (Array.isArray(raw?.records)) {
          history = raw.records.filter(isRecord);
        }
      } catch {
        // A history index is rewritten whole on every accept; an unreadable
        // one (it never is, short of a disk fault) only loses the records.
        history = [];
      }
    }
    let staged: StagedConfig | undefined;
    const stagedText = await readText(`${dir}/staged.json`);
    if (stagedText !== undefined) {
      try {
        const raw = JSON.parse(stagedText);
        if (typeof raw?.yaml === "string" && typeof raw?.actor === "string") {
          staged = {
            yaml: raw.yaml,
            hash: await configHash(raw.yaml),
            actor: raw.actor,
            time: String(raw.time ?? ""),
          };
        }
      } catch {
        staged = undefined;
      }
    }
    let yaml = await readText(`${dir}/machine.yaml`);
    let seeded = false;
    if (yaml === undefined) {
      if (!options.seed) {
        throw new Error(
          `Cannot load the machine config: ${
            JSON.stringify(`${dir}/machine.yaml`)
          } does not exist and no seed config was given`,
        );
      }
      yaml = await options.seed();
      seeded = true;
    }
    const current: StoredConfig = {
      config: parseStored(yaml, seeded ? "the seed config" : "machine.yaml"),
      yaml,
      hash: await configHash(yaml),
    };
    const store = new ConfigStore(dir, now, current, history, staged);
    if (seeded) {
      await writeDurable(`${dir}/machine.yaml`, yaml);
      await store.#record(yaml, current.hash, { actor: "seed", mode: "seed" });
    } else if (history.at(-1)?.hash !== current.hash) {
      await store.#record(yaml, current.hash, {
        actor: "unknown",
        mode: "recovered",
      });
    }
    return store;
  }

  /** The accepted config. */
  current(): StoredConfig {
    return this.#current;
  }

  /** The config staged for the next boot, if any. */
  staged(): StagedConfig | undefined {
    return this.#staged;
  }

  /** The accepted configs' records, oldest first (at most HISTORY_SIZE). */
  history(): ConfigRecord[] {
    return this.#history.map((r) => ({ ...r }));
  }

  /** The YAML of a history record (throws if it is no longer kept). */
  async recordYaml(seq: number): Promise<string> {
    const record = this.#history.find((r) => r.seq === seq);
    if (!record) throw new Error(`No config #${seq} in the history`);
    const yaml = await readText(`${this.#dir}/history/${seq}.yaml`);
    if (yaml === undefined || (await configHash(yaml)) !== record.hash) {
      throw new Error(`The config #${seq} of the history is not kept`);
    }
    return yaml;
  }

  /** Accepts a validated config as the one the node runs and boots with. */
  accept(yaml: string, options: AcceptOptions): Promise<ConfigRecord> {
    return this.#serial(async () => {
      const config = parseStored(yaml, "the accepted config");
      const hash = await configHash(yaml);
      await writeDurable(`${this.#dir}/machine.yaml`, yaml);
      this.#current = { config, yaml, hash };
      return await this.#record(yaml, hash, options);
    });
  }

  /** Stages a validated config for the next boot (replacing any staged one). */
  stage(yaml: string, actor: string): Promise<StagedConfig> {
    return this.#serial(async () => {
      parseStored(yaml, "the staged config");
      const staged: StagedConfig = {
        yaml,
        hash: await configHash(yaml),
        actor,
        time: new Date(this.#now()).toISOString(),
      };
      await writeDurable(
        `${this.#dir}/staged.json`,
        JSON.stringify({ yaml, actor, time: staged.time }) + "\n",
      );
      this.#staged = staged;
      return staged;
    });
  }

  /** Drops the staged config (an accept in another mode supersedes it). */
  unstage(): Promise<void> {
    return this.#serial(async () => {
      if (!this.#staged) return;
      await Deno.remove(`${this.#dir}/staged.json`).catch((err) => {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      });
      await syncDir(this.#dir);
      this.#staged = undefined;
    });
  }

  /**
   * At boot: accepts the staged config, if any (mode "staged", its actor),
   * and returns its record.
   */
  async promoteStaged(): Promise<ConfigRecord | undefined> {
    const staged = this.#staged;
    if (!staged) return undefined;
    const record = await this.accept(staged.yaml, {
      actor: staged.actor,
      mode: "staged",
    });
    await this.unstage();
    return record;
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#writing.then(fn, fn);
    this.#writing = run.catch(() => {});
    return run;
  }

  async #record(
    yaml: string,
    hash: string,
    options: AcceptOptions,
  ): Promise<ConfigRecord> {
    const record: ConfigRecord = {
      seq: (this.#history.at(-1)?.seq ?? 0) + 1,
      time: new Date(this.#now()).toISOString(),
      actor: options.actor,
      mode: options.mode,
      hash,
    };
    await writeDurable(`${this.#dir}/history/${record.seq}.yaml`, yaml);
    const history = [...this.#history, record].slice(-HISTORY_SIZE);
    await writeDurable(
      `${this.#dir}/history.json`,
      JSON.stringify({ records: history }, null, 1) + "\n",
    );
    this.#history = history;
    const keep = new Set(history.map((r) => `${r.seq}.yaml`));
    for await (const e of Deno.readDir(`${this.#dir}/history`)) {
      if (!keep.has(e.name)) {
        await Deno.remove(`${this.#dir}/history/${e.name}`).catch(() => {});
      }
    }
    return record;
  }
}
