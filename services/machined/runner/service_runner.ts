import { errorText } from "../../../lib/log/mod.ts";
import { Backoff } from "./backoff.ts";
import {
  DEFAULT_HEALTH,
  type HealthSettings,
  runHealthChecks,
} from "./health.ts";
import { HEALTH_OK, type ServiceEvent, ServiceHistory } from "./history.ts";
import { Poke, sleep } from "./notifier.ts";
import type {
  ExitStatus,
  OutputStream,
  ProcessRunner,
  RunningProcess,
} from "./process_runner.ts";
import type { ServiceSpec } from "./service.ts";
import {
  type HealthStatus,
  isUp,
  type ServiceState,
  unknownHealth,
} from "./state.ts";

/** What a service runner needs from its surroundings. */
export interface ServiceRunnerHooks {
  /** Starts processes. */
  runner: ProcessRunner;
  /** Whether a dependency is up now. */
  isUp(id: string): boolean;
  /** Resolves when any service changed (or after a while, or on abort). */
  waitForChange(signal: AbortSignal): Promise<void>;
  /** Called on every state change and health flip. */
  onEvent(id: string, event: ServiceEvent): void;
  /** Called for every output line of the service's process. */
  onLine(id: string, line: string, stream: OutputStream): void;
  /** Clock (ms since the epoch); Date.now by default. */
  now?: () => number;
}

/** A snapshot of one service for ServiceList. */
export interface ServiceSnapshot {
  /** Service id. */
  id: string;
  /** Current state. */
  state: ServiceState;
  /** Current health. */
  health: HealthStatus;
  /** pid of the running process, 0 when none. */
  pid: number;
  /** Event history, oldest first. */
  events: ServiceEvent[];
  /** Declared dependencies. */
  dependsOn: string[];
}

const DEFAULT_GRACE_MS = 10000;

/**
 * Runs one service: waits for its dependencies, prepares, starts its process,
 * checks its health, restarts it with backoff when it exits, and stops it
 * gracefully on request. Every transition lands in the service's history.
 */
export class ServiceRunner {
  #spec: ServiceSpec;
  #hooks: ServiceRunnerHooks;
  #now: () => number;
  #state: ServiceState = "Initialized";
  #health: HealthStatus = unknownHealth();
  #pokes = new Poke();
  #healthySince = 0;
  #history = new ServiceHistory();
  #proc: RunningProcess | undefined;
  #loop: Promise<void> | undefined;
  #stop: AbortController | undefined;
  #healthSettings: HealthSettings;

  /** Makes a runner in state Initialized. */
  constructor(spec: ServiceSpec, hooks: ServiceRunnerHooks) {
    this.#spec = spec;
    this.#hooks = hooks;
    this.#now = hooks.now ?? Date.now;
    this.#healthSettings = { ...DEFAULT_HEALTH, ...spec.healthSettings };
    new Backoff(spec.backoff); // validate settings now, not at first restart
  }

  /** The service id. */
  get id(): string {
    return this.#spec.id;
  }

  /** Declared dependencies. */
  get dependsOn(): string[] {
    return [...(this.#spec.dependsOn ?? [])];
  }

  /** Current state. */
  get state(): ServiceState {
    return this.#state;
  }

  /** pid of the running process, 0 when none. */
  get pid(): number {
    return this.#state === "Running" || this.#state === "Stopping"
      ? this.#proc?.pid ?? 0
      : 0;
  }

  /** Whether the service is up for its dependents. */
  get up(): boolean {
    return isUp(this.#state, this.#health, Boolean(this.#spec.health));
  }

  /** Whether start() was called and stop() was not since. */
  get active(): boolean {
    return this.#loop !== undefined;
  }

  /** A snapshot for ServiceList. */
  snapshot(): ServiceSnapshot {
    return {
      id: this.id,
      state: this.#state,
      health: { ...this.#health },
      pid: this.pid,
      events: this.#history.list(),
      dependsOn: this.dependsOn,
    };
  }

  /** Checks the service's health now, if it is running (its health notice). */
  pokeHealth(): void {
    this.#pokes.poke();
  }

  /** Starts the service (no-op when already active or skipped). */
  start(): void {
    if (this.#loop) return;
    const skip = this.#spec.condition?.();
    if (skip !== undefined) {
      if (this.#state !== "Skipped") this.#set("Skipped", skip);
      return;
    }
    const ac = new AbortController();
    this.#stop = ac;
    this.#loop = this.#run(ac.signal).catch((err) => {
      this.#set("Failed", `Supervisor error: ${errorText(err)}`);
    });
  }

  /** Stops the service and waits until it is down (no-op when inactive). */
  async stop(): Promise<void> {
    const loop = this.#loop;
    if (!loop) return;
    this.#stop?.abort();
    await loop;
    if (this.#loop === loop) {
      this.#loop = undefined;
      this.#stop = undefined;
    }
  }

  /** Stops then starts the service. */
  async restart(): Promise<void> {
    await this.stop();
    this.start();
  }

  #set(state: ServiceState, message: string, health = false): void {
    this.#state = state;
    if (state !== "Running") {
      this.#health = unknownHealth();
      this.#healthySince = 0;
    }
    const event: ServiceEvent = { ts: this.#now(), state, message };
    if (health) this.#history.pushHealth(event);
    else this.#history.push(event);
    this.#hooks.onEvent(this.id, event);
  }

  #onHealth(failure: string | undefined): void {
    if (this.#state !== "Running") return;
    const healthy = failure === undefined;
    const prev = this.#health;
    const changed = prev.unknown || prev.healthy !== healthy ||
      (!healthy && prev.lastMessage !== failure);
    const now = this.#now();
    this.#health = {
      unknown: false,
      healthy,
      lastMessage: failure ?? "",
      lastChange: changed && (prev.unknown || prev.healthy !== healthy)
        ? now
        : prev.lastChange,
    };
    if (healthy && !this.#healthySince) this.#healthySince = now;
    if (!healthy) this.#healthySince = 0;
    if (changed) {
      this.#set(
        "Running",
        healthy ? HEALTH_OK : `Health check failed: ${failure}`,
        true,
      );
    }
  }

  async #run(signal: AbortSignal): Promise<void> {
    const backoff = new Backoff(this.#spec.backoff);
    const grace = this.#spec.graceMs ?? DEFAULT_GRACE_MS;
    while (!signal.aborted) {
      this.#set("Starting", "Starting service");
      if (!await this.#waitForDependencies(signal)) break;
      let failure: string | undefined;
      let exit: ExitStatus | undefined;
      try {
        this.#set("Preparing", "Running pre state");
        await this.#spec.prepare?.(signal);
        if (signal.aborted) break;
        this.#set("Preparing", "Creating service runner");
        const spec = await this.#spec.process();
        if (signal.aborted) break;
        const proc = this.#hooks.runner.start(
          spec,
          (line, stream) => this.#hooks.onLine(this.id, line, stream),
        );
        this.#proc = proc;
        this.#set("Running", `Started process (PID ${proc.pid})`);
        exit = await this.#supervise(proc, signal);
        if (!exit) {
          this.#set(
            "Stopping",
            `Sending SIGTERM to process group ${proc.pid}, SIGKILL after ${grace} ms`,
          );
          const st = await proc.stop(grace);
          this.#set(
            "Finished",
            `Service finished successfully (${describeExit(st)})`,
          );
          return;
        }
        failure = `Process ${proc.pid} exited: ${describeExit(exit)}`;
      } catch (err) {
        if (signal.aborted) break;
        failure = errorText(err);
      }
      // A long healthy run earns a fresh start of the backoff.
      if (
        this.#healthySince &&
        this.#now() - this.#healthySince >= backoff.settings.resetAfterMs
      ) backoff.reset();
      const delay = backoff.next();
      this.#set("Failed", capitalise(failure));
      this.#set(
        "Waiting",
        `Restarting in ${
          (delay / 1000).toFixed(2)
        } s (attempt ${backoff.attempt})`,
      );
      if (await sleep(delay, signal)) break;
    }
    this.#set("Finished", "Service stopped");
  }

  /** Waits for exit or stop; returns the exit status, or undefined on stop. */
  async #supervise(
    proc: RunningProcess,
    signal: AbortSignal,
  ): Promise<ExitStatus | undefined> {
    const healthStop = new AbortController();
    const checks = this.#spec.health
      ? runHealthChecks(this.#spec.health, this.#healthSettings, {
        signal: healthStop.signal,
        onResult: (f) => this.#onHealth(f),
        pokes: this.#pokes,
      })
      : Promise.resolve();
    let onAbort: (() => void) | undefined;
    const stopped = new Promise<undefined>((resolve) => {
      onAbort = () => resolve(undefined);
      if (signal.aborted) resolve(undefined);
      else signal.addEventListener("abort", onAbort, { once: true });
    });
    try {
      return await Promise.race([proc.exited, stopped]);
    } finally {
      signal.removeEventListener("abort", onAbort!);
      healthStop.abort();
      await checks;
    }
  }

  async #waitForDependencies(signal: AbortSignal): Promise<boolean> {
    let reported = "";
    while (!signal.aborted) {
      const missing = this.dependsOn.filter((d) => !this.#hooks.isUp(d));
      if (missing.length === 0) return true;
      const text = `Waiting for ${
        missing.map((m) => `service "${m}"`).join(", ")
      } to be up`;
      if (text !== reported) {
        this.#set("Waiting", text);
        reported = text;
      }
      await this.#hooks.waitForChange(signal);
    }
    return false;
  }
}

/** "code 3", "signal SIGKILL". */
export function describeExit(st: ExitStatus): string {
  return st.signal ? `signal ${st.signal}` : `code ${st.code}`;
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
