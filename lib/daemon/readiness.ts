/**
 * A daemon's readiness as its health: unhealthy, saying what it waits for,
 * until it serves. apid and trustd connect to the bus first and then wait
 * for their certificates; "on the bus" alone would report them healthy
 * before they listen.
 * @module
 */
import type { HealthCheck } from "./run.ts";

/** Unhealthy with a reason until {@linkcode Readiness.ready} is called. */
export class Readiness {
  #ready = false;
  #waiting: string;
  #listeners: Array<() => void> = [];

  /** Starts not ready, `waiting` saying why. */
  constructor(waiting = "starting") {
    this.#waiting = waiting;
  }

  /** Says what the daemon waits for now. */
  waitingFor(reason: string): void {
    const was = this.#ready;
    this.#ready = false;
    this.#waiting = reason;
    if (was) this.#changed();
  }

  /** The daemon serves. */
  ready(): void {
    if (this.#ready) return;
    this.#ready = true;
    this.#changed();
  }

  /** Calls `listener` after each change between ready and not ready. */
  onChange(listener: () => void): void {
    this.#listeners.push(listener);
  }

  #changed(): void {
    for (const l of this.#listeners) l();
  }

  /** Whether {@linkcode Readiness.ready} was called since the last wait. */
  get isReady(): boolean {
    return this.#ready;
  }

  /** The health check for runDaemon's `health` option. */
  readonly check: HealthCheck = () =>
    Promise.resolve(
      this.#ready
        ? { healthy: true, message: "" }
        : { healthy: false, message: this.#waiting },
    );
}
