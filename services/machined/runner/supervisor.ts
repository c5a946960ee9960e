import { ApiError } from "../../../lib/api_error/mod.ts";
import type { ServiceEvent } from "./history.ts";
import { Notifier } from "./notifier.ts";
import type { OutputStream, ProcessRunner } from "./process_runner.ts";
import type { ServiceSpec } from "./service.ts";
import { ServiceRunner, type ServiceSnapshot } from "./service_runner.ts";

/** Options for {@linkcode Supervisor}. */
export interface SupervisorOptions {
  /** Starts processes. */
  runner: ProcessRunner;
  /** Every service state change and health flip. */
  onEvent?: (id: string, event: ServiceEvent) => void;
  /** Every output line of every service. */
  onLine?: (id: string, line: string, stream: OutputStream) => void;
  /** Clock; Date.now by default. */
  now?: () => number;
}

/**
 * The set of services of a node: starts them all (each waits for its
 * dependencies), stops them in reverse dependency order, and answers the
 * start/stop/restart requests of the API.
 */
export class Supervisor {
  #runners = new Map<string, ServiceRunner>();
  #order: string[] = [];
  #changed = new Notifier();

  /** Registers the services; dependencies must name registered services. */
  constructor(specs: ServiceSpec[], options: SupervisorOptions) {
    for (const spec of specs) {
      if (this.#runners.has(spec.id)) {
        throw new Error(`Cannot register service "${spec.id}" twice`);
      }
      this.#runners.set(
        spec.id,
        new ServiceRunner(spec, {
          runner: options.runner,
          now: options.now,
          isUp: (id) => this.#runners.get(id)?.up ?? false,
          waitForChange: (signal) => this.#changed.wait(signal),
          onEvent: (id, ev) => {
            options.onEvent?.(id, ev);
            this.#changed.notify();
          },
          onLine: (id, line, stream) => options.onLine?.(id, line, stream),
        }),
      );
    }
    for (const spec of specs) {
      for (const dep of spec.dependsOn ?? []) {
        if (!this.#runners.has(dep)) {
          throw new Error(
            `Cannot register service "${spec.id}": it depends on unknown service "${dep}"`,
          );
        }
      }
    }
    this.#order = topologicalOrder(specs);
  }

  /** Service ids in start order. */
  get order(): string[] {
    return [...this.#order];
  }

  /** Whether a service id is registered. */
  has(id: string): boolean {
    return this.#runners.has(id);
  }

  /** Snapshots of every service, in start order. */
  list(): ServiceSnapshot[] {
    return this.#order.map((id) => this.#runners.get(id)!.snapshot());
  }

  /** One service's snapshot. */
  get(id: string): ServiceSnapshot {
    return this.#runner(id).snapshot();
  }

  /** Whether a service is up (running and healthy, or skipped). */
  isUp(id: string): boolean {
    return this.#runner(id).up;
  }

  /** Resolves on the next change of any service (or after a while). */
  waitForChange(signal: AbortSignal, timeoutMs?: number): Promise<void> {
    return this.#changed.wait(signal, timeoutMs);
  }

  /** Checks a service's health now (unknown ids are ignored: a notice is a hint). */
  pokeHealth(id: string): void {
    this.#runners.get(id)?.pokeHealth();
  }

  /** Starts every service; each waits for its dependencies. */
  startAll(): void {
    for (const id of this.#order) this.#runners.get(id)!.start();
  }

  /** Stops every service, dependents before what they depend on. */
  async stopAll(): Promise<void> {
    for (const id of [...this.#order].reverse()) {
      await this.#runners.get(id)!.stop();
    }
  }

  /** Starts one service; NotFound `service "x" not defined` if unknown. */
  start(id: string): void {
    this.#runner(id).start();
  }

  /** Stops one service and waits until it is down. */
  async stop(id: string): Promise<void> {
    await this.#runner(id).stop();
  }

  /** Restarts one service (starts it if it was not running). */
  async restart(id: string): Promise<void> {
    await this.#runner(id).restart();
  }

  #runner(id: string): ServiceRunner {
    const r = this.#runners.get(id);
    if (!r) throw new ApiError("NotFound", `service "${id}" not defined`);
    return r;
  }
}

/** Orders services so each comes after its dependencies; throws on a cycle. */
export function topologicalOrder(specs: ServiceSpec[]): string[] {
  const deps = new Map(specs.map((s) => [s.id, s.dependsOn ?? []]));
  const out: string[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (id: string, path: string[]) => {
    if (state.get(id) === "done") return;
    if (state.get(id) === "visiting") {
      throw new Error(
        `Cannot order services: dependency cycle ${
          [...path, id].map((x) => `"${x}"`).join(" -> ")
        }`,
      );
    }
    state.set(id, "visiting");
    for (const d of deps.get(id) ?? []) visit(d, [...path, id]);
    state.set(id, "done");
    out.push(id);
  };
  for (const s of specs) visit(s.id, []);
  return out;
}
