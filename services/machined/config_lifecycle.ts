/**
 * machined's config lifecycle: the config the node runs (which a try may
 * hold apart from the stored one), ApplyConfiguration in every mode, the
 * try window and its revert, rollback from the history, and the history as
 * ConfigHistory reports it. What a change does to the running node is the
 * caller's: `applyLive` for live fields; a result with `reboot` set asks
 * the caller to reboot the node (once the reply is out).
 * @module
 */
import type {
  ApplyConfigurationRequest,
  ConfigHistory,
  ConfigRecord as ApiConfigRecord,
} from "../../lib/api/gen/machine/machine.ts";
import { ApiError } from "../../lib/api_error/mod.ts";
import {
  configDiff,
  type MachineConfig,
  parseMachineConfig,
} from "../../lib/config/mod.ts";
import { errorText, type Logger } from "../../lib/log/mod.ts";
import { checkApplyRequest } from "./apply_config.ts";
import { type ApplyPlan, planApply, planDetails } from "./config_apply.ts";
import { configHash, type ConfigStore } from "./config_store.ts";

/** A try's length when the request names none (Talos's ConfigTryTimeout). */
export const DEFAULT_TRY_MS = 60_000;
/** The longest try accepted. */
export const MAX_TRY_MS = 24 * 3600_000;

/** What the lifecycle asks of the node. */
export interface LifecycleHooks {
  /** Makes the running node match `next` in `fields` (live fields only). */
  applyLive(
    next: MachineConfig,
    fields: readonly string[],
  ): void | Promise<void>;
  /** Reports a lifecycle step (events and logs). */
  event(message: string): void;
}

/** The reply of an apply, without metadata. */
export interface ApplyResult {
  /** Warnings (forced refusals). */
  warnings: string[];
  /** The mode chosen. */
  mode: string;
  /** What happened, in words (a dry run: with the diff). */
  modeDetails: string;
  /** The diff, secrets redacted. */
  diff: string;
  /** The config was stored and the node must reboot to run it. */
  reboot: boolean;
}

interface PendingTry {
  yaml: string;
  hash: string;
  actor: string;
  time: string;
  revertsAt: number;
  timer: ReturnType<typeof setTimeout>;
}

/** The running config and its changes. */
export class ConfigLifecycle {
  readonly #store: ConfigStore;
  readonly #hooks: LifecycleHooks;
  readonly #log: Logger;
  #running: MachineConfig;
  #try: PendingTry | undefined;
  #busy = false;

  /** Starts from the store's accepted config. */
  constructor(store: ConfigStore, hooks: LifecycleHooks, log: Logger) {
    this.#store = store;
    this.#hooks = hooks;
    this.#log = log;
    this.#running = store.current().config;
  }

  /** The config the node runs (a try's while one is in progress). */
  running(): MachineConfig {
    return this.#running;
  }

  /** The store (accepted, staged, history). */
  get store(): ConfigStore {
    return this.#store;
  }

  /** At a boot: the stored config runs again (a try in progress ends). */
  reload(): MachineConfig {
    this.#endTry();
    this.#running = this.#store.current().config;
    return this.#running;
  }

  /** Ends a try's timer (machined is stopping: the try ends with it). */
  close(): void {
    if (this.#try) clearTimeout(this.#try.timer);
    this.#try = undefined;
  }

  /**
   * ApplyConfiguration: validates, decides (planApply), then carries the
   * mode out. Throws ApiError: InvalidArgument for a bad config or a field
   * that cannot change in the mode, FailedPrecondition for a refusal, while
   * another apply runs, or a rollback the history cannot serve.
   */
  async apply(
    request: ApplyConfigurationRequest,
    actor: string,
  ): Promise<ApplyResult> {
    if (this.#busy) {
      throw new ApiError(
        "FailedPrecondition",
        "another apply configuration is already in progress",
      );
    }
    this.#busy = true;
    try {
      return await this.#apply(request, actor || "unknown");
    } finally {
      this.#busy = false;
    }
  }

  async #apply(
    request: ApplyConfigurationRequest,
    actor: string,
  ): Promise<ApplyResult> {
    let data = request.data;
    let rollbackOf: number | undefined;
    if (request.rollback > 0) {
      if (data.length > 0) {
        throw new ApiError(
          "InvalidArgument",
          "a rollback takes its config from the history: send no data",
        );
      }
      const records = this.#store.history();
      const record = records[records.length - 1 - request.rollback];
      if (!record) {
        throw new ApiError(
          "FailedPrecondition",
          `cannot roll back ${request.rollback} accept(s): the history holds ${records.length} config(s)`,
        );
      }
      rollbackOf = record.seq;
      try {
        data = new TextEncoder().encode(
          await this.#store.recordYaml(record.seq),
        );
      } catch (err) {
        throw new ApiError("FailedPrecondition", errorText(err));
      }
    }
    const checked = checkApplyRequest(data, request.mode);
    const tryMs = request.tryModeTimeoutMs === 0
      ? DEFAULT_TRY_MS
      : request.tryModeTimeoutMs;
    if (checked.mode === "try" && (tryMs < 1000 || tryMs > MAX_TRY_MS)) {
      throw new ApiError(
        "InvalidArgument",
        `try_mode_timeout_ms ${request.tryModeTimeoutMs}: want 1 s to 24 h`,
      );
    }
    const plan = planApply(this.#running, checked.config, {
      mode: checked.mode,
      force: request.force,
    });
    const reply = (details: string): ApplyResult => ({
      warnings: plan.warnings,
      mode: plan.mode,
      modeDetails: details,
      diff: plan.diff,
      reboot: false,
    });
    if (request.dryRun) {
      return reply(planDetails(plan, { dryRun: true, tryTimeoutMs: tryMs }));
    }
    const how = rollbackOf === undefined ? plan.mode : `rollback(${plan.mode})`;
    const details = planDetails(plan, { dryRun: false, tryTimeoutMs: tryMs });
    const suffix = rollbackOf === undefined
      ? ""
      : ` (rolled back to config #${rollbackOf})`;
    switch (plan.outcome) {
      case "staged":
        await this.#store.stage(checked.yaml, actor);
        this.#hooks.event(`config staged for the next reboot by ${actor}`);
        return reply(details + suffix);
      case "try":
        await this.#startTry(checked.yaml, checked.config, plan, actor, tryMs);
        return reply(details + suffix);
      default:
        break;
    }
    // Any other apply confirms a try in progress and supersedes a staged config.
    const confirmed = this.#try !== undefined;
    this.#endTry();
    await this.#store.unstage();
    if (
      plan.outcome === "unchanged" && !confirmed &&
      (await configHash(checked.yaml)) === this.#store.current().hash
    ) {
      return reply(details + suffix);
    }
    const before = this.#running;
    if (plan.outcome === "live") {
      await this.#applyLive(checked.config, plan.changed, before);
    }
    this.#running = checked.config;
    try {
      await this.#store.accept(checked.yaml, { actor, mode: how });
    } catch (err) {
      this.#running = before;
      if (plan.outcome === "live") {
        await Promise.resolve(this.#hooks.applyLive(before, plan.changed))
          .catch(() => {});
      }
      throw new ApiError(
        "Internal",
        `cannot store the config: ${errorText(err)}`,
      );
    }
    this.#hooks.event(
      `config #${
        this.#store.history().at(-1)?.seq
      } accepted from ${actor} (${how})`,
    );
    return { ...reply(details + suffix), reboot: plan.outcome === "reboot" };
  }

  async #applyLive(
    next: MachineConfig,
    fields: readonly string[],
    before: MachineConfig,
  ): Promise<void> {
    try {
      await this.#hooks.applyLive(next, fields);
    } catch (err) {
      // The last good state stays: the running config goes back with it.
      this.#running = before;
      this.#hooks.event(
        `config not applied: ${fields.join(", ")} failed live (${
          errorText(err)
        }); the last good config stays`,
      );
      try {
        await this.#hooks.applyLive(before, fields);
      } catch (again) {
        this.#log.error("cannot restore the last good state", {
          error: errorText(again),
        });
      }
      throw new ApiError(
        "Internal",
        `cannot apply ${fields.join(", ")} live: ${errorText(err)}`,
      );
    }
  }

  async #startTry(
    yaml: string,
    config: MachineConfig,
    plan: ApplyPlan,
    actor: string,
    tryMs: number,
  ): Promise<void> {
    this.#endTry();
    const before = this.#running;
    this.#running = config;
    await this.#applyLive(config, plan.changed, before);
    const revertsAt = Date.now() + tryMs;
    this.#try = {
      yaml,
      hash: await configHash(yaml),
      actor,
      time: new Date().toISOString(),
      revertsAt,
      timer: setTimeout(() => void this.#revertTry(), tryMs),
    };
    this.#hooks.event(
      `config tried by ${actor}: reverted at ${
        new Date(revertsAt).toISOString()
      } unless confirmed`,
    );
  }

  #endTry(): void {
    if (!this.#try) return;
    clearTimeout(this.#try.timer);
    this.#try = undefined;
  }

  async #revertTry(): Promise<void> {
    const tried = this.#try;
    if (!tried) return;
    this.#try = undefined;
    const stored = this.#store.current().config;
    const fields = planApply(this.#running, stored, {
      mode: "auto",
      force: true,
    }).changed;
    try {
      await this.#hooks.applyLive(stored, fields);
      this.#running = stored;
      this.#hooks.event(
        `config try by ${tried.actor} not confirmed: reverted to the stored config`,
      );
    } catch (err) {
      this.#log.error("cannot revert a config try", { error: errorText(err) });
    }
  }

  /** ConfigHistory's answer (records oldest first, staged, trying). */
  async history(withDiff: boolean): Promise<Omit<ConfigHistory, "metadata">> {
    const records = this.#store.history();
    const current = this.#store.current().hash;
    const out: ApiConfigRecord[] = [];
    let previous: MachineConfig | undefined;
    for (const r of records) {
      let diff = "";
      if (withDiff) {
        try {
          const config = parseMachineConfig(
            await this.#store.recordYaml(r.seq),
          );
          diff = previous === undefined ? "" : configDiff([previous], [config]);
          previous = config;
        } catch {
          previous = undefined;
        }
      }
      out.push({
        seq: r.seq,
        time: r.time,
        actor: r.actor,
        mode: r.mode,
        hash: r.hash,
        diff,
        current: r.hash === current && r === records.at(-1) && !this.#try,
      });
    }
    const staged = this.#store.staged();
    const pendingDiff = (yaml: string) => {
      if (!withDiff) return "";
      try {
        return configDiff([this.#store.current().config], [
          parseMachineConfig(yaml),
        ]);
      } catch {
        return "";
      }
    };
    return {
      records: out,
      staged: staged && {
        seq: 0,
        time: staged.time,
        actor: staged.actor,
        mode: "staged",
        hash: staged.hash,
        diff: pendingDiff(staged.yaml),
        current: false,
      },
      trying: this.#try && {
        seq: 0,
        time: this.#try.time,
        actor: this.#try.actor,
        mode: "try",
        hash: this.#try.hash,
        diff: pendingDiff(this.#try.yaml),
        current: true,
      },
      tryRevertsAt: this.#try
        ? new Date(this.#try.revertsAt).toISOString()
        : "",
    };
  }
}
