/**
 * Node control: the services (start, stop, restart through the API),
 * reboot (in place, or by stopping everything for the platform to reboot
 * the machine) and shutdown (every service stopped in reverse order, the
 * bus closed before nats-server stops).
 * @module
 */
import { ApiError } from "../../lib/api_error/mod.ts";
import { untilAborted } from "../../lib/daemon/mod.ts";
import type { PowerControl } from "./api/power_api.ts";
import type { ServiceControl, ServiceOp } from "./api/services_api.ts";
import { type SequenceRecorder, waitForAllUp } from "./boot_sequence.ts";
import type { ServiceHistory } from "./runner/history.ts";
import type { ServiceSnapshot } from "./runner/service_runner.ts";
import type { Supervisor } from "./runner/supervisor.ts";

/** Why run() returned: an orderly stop, or a reboot/power-off to carry out. */
export type StopReason = "shutdown" | "reboot";

/** The services the API may not start, stop or restart. */
const NOT_VIA_API = new Set(["machined"]);
/** The services the API may restart but not stop: that would lock the node out. */
const NO_STOP_VIA_API = new Set(["apid"]);
/** The longest an in-place reboot waits for every service to be up (ms). */
const REBOOT_UP_MS = 120000;

/** What node control works on. */
export interface NodeControlOptions {
  /** The node's services. */
  supervisor: Supervisor;
  /** Reboots restart the services in place (process mode). */
  rebootInPlace: boolean;
  /** Where sequences are recorded. */
  sequence: SequenceRecorder;
  /** machined's own history, for its ServiceList entry. */
  history: ServiceHistory;
  /** Closes machined's bus connection (before nats-server stops). */
  closeBus(): Promise<void>;
  /**
   * Called by an in-place reboot once every service is stopped and before
   * they start again: the boot reads the stored config.
   */
  beforeRebootStart?: () => Promise<void>;
}

/** Starts, stops and restarts the node's services; reboots; shuts down. */
export class NodeControl implements ServiceControl, PowerControl {
  #o: NodeControlOptions;
  #shutdown = new AbortController();
  #shutdownDone: Promise<void> | undefined;
  #rebooting = false;
  #stopReason: StopReason = "shutdown";
  #started = Date.now();

  /** Sets up. */
  constructor(options: NodeControlOptions) {
    this.#o = options;
  }

  /** Aborted once a shutdown (or a failed boot) begins. */
  get signal(): AbortSignal {
    return this.#shutdown.signal;
  }

  /** Why the node stopped (meaningful once it has). */
  get stopReason(): StopReason {
    return this.#stopReason;
  }

  /** Whether a shutdown has begun. */
  shuttingDown(): boolean {
    return this.#shutdownDone !== undefined;
  }

  /** Resolves once a shutdown was asked for and every service is stopped. */
  async finished(): Promise<void> {
    await untilAborted(this.#shutdown.signal);
    await this.#shutdownDone;
  }

  /** machined itself, then every supervised service. */
  services(): ServiceSnapshot[] {
    const self: ServiceSnapshot = {
      id: "machined",
      state: this.#shutdownDone ? "Stopping" : "Running",
      health: {
        unknown: false,
        healthy: true,
        lastMessage: "",
        lastChange: this.#started,
      },
      pid: Deno.pid,
      events: this.#o.history.list(),
      dependsOn: [],
    };
    return [self, ...this.#o.supervisor.list()];
  }

  /** Throws ApiError unless the API may `op` service `id` now. */
  checkService(id: string, op: ServiceOp): void {
    const supervisor = this.#o.supervisor;
    if (this.#shutdownDone) {
      throw new ApiError("Unavailable", "the node is shutting down");
    }
    if (!id) throw new ApiError("InvalidArgument", "service id is required");
    if (NOT_VIA_API.has(id)) {
      throw new ApiError(
        "FailedPrecondition",
        `service "${id}" doesn't support ${op} operation via API`,
      );
    }
    if (op === "stop" && NO_STOP_VIA_API.has(id)) {
      throw new ApiError(
        "FailedPrecondition",
        `service "${id}" cannot be stopped via API: it serves the API, so stopping it would lock the node out (restart it instead)`,
      );
    }
    if (!supervisor.has(id)) {
      throw new ApiError("NotFound", `service "${id}" not defined`);
    }
    if (supervisor.get(id).state === "Skipped") {
      throw new ApiError(
        "FailedPrecondition",
        `service "${id}" is skipped on this node (${
          supervisor.get(id).events.at(-1)?.message ?? "condition"
        })`,
      );
    }
  }

  /** Starts a service. */
  start(id: string): void {
    this.#o.supervisor.start(id);
  }

  /** Stops a service. */
  stop(id: string): Promise<void> {
    return this.#o.supervisor.stop(id);
  }

  /** Restarts a service. */
  restart(id: string): Promise<void> {
    return this.#o.supervisor.restart(id);
  }

  /**
   * Claims a reboot (refused while shutting down or rebooting) and returns
   * it: every service restarted in place, in order; or, where the platform
   * reboots the machine, a shutdown with stopReason "reboot".
   */
  beginReboot(actor: string): () => Promise<void> {
    if (this.#shutdownDone) {
      throw new ApiError("Unavailable", "the node is shutting down");
    }
    if (this.#rebooting) {
      throw new ApiError("FailedPrecondition", 'sequence "reboot" is running');
    }
    this.#rebooting = true;
    if (!this.#o.rebootInPlace) {
      return () => {
        this.#stopReason = "reboot";
        this.requestShutdown(`reboot, actor ${actor}`);
        return Promise.resolve();
      };
    }
    return () => this.#rebootInPlace(actor);
  }

  async #rebootInPlace(actor: string): Promise<void> {
    const { supervisor, sequence } = this.#o;
    const signal = this.#shutdown.signal;
    try {
      sequence.record("reboot", "start", `Rebooting in place (actor ${actor})`);
      for (const id of [...supervisor.order].reverse()) {
        if (signal.aborted) return;
        await supervisor.stop(id);
      }
      if (signal.aborted) return;
      await this.#o.beforeRebootStart?.();
      supervisor.startAll();
      const up = await waitForAllUp(
        supervisor,
        signal,
        Date.now() + REBOOT_UP_MS,
      );
      if (up) sequence.record("reboot", "stop", "All services are up");
    } finally {
      this.#rebooting = false;
    }
  }

  /** Returns the shutdown asked for through the API. */
  beginShutdown(actor: string): () => Promise<void> {
    return () => {
      this.requestShutdown(`API, actor ${actor}`);
      return Promise.resolve();
    };
  }

  /** Begins an orderly shutdown (once; later calls do nothing). */
  requestShutdown(reason: string): void {
    if (this.#shutdownDone) return;
    const { sequence } = this.#o;
    sequence.record("shutdown", "start", `Shutting down (${reason})`);
    this.#shutdownDone = this.stopEverything().then(() =>
      sequence.record("shutdown", "stop", "Every service is stopped")
    );
    this.#shutdown.abort();
  }

  /** Stops every service in reverse order, closing the bus before nats. */
  async stopEverything(): Promise<void> {
    const { supervisor } = this.#o;
    for (const id of [...supervisor.order].reverse()) {
      if (id === "nats") await this.#o.closeBus();
      await supervisor.stop(id);
    }
    await this.#o.closeBus();
  }

  /** After a failed boot: aborts everything and stops every service. */
  async abort(): Promise<void> {
    this.#shutdown.abort();
    await this.stopEverything();
  }
}
