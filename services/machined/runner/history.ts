import type { ServiceState } from "./state.ts";

/** One entry of a service's event history. */
export interface ServiceEvent {
  /** When (ms since the epoch); for a counted failure, its latest time. */
  ts: number;
  /** The state the service was in. */
  state: ServiceState;
  /** What happened. */
  message: string;
  /** How many times an identical health failure happened (absent: once). */
  count?: number;
}

/** How many events a service keeps, as Talos does. */
export const MAX_SERVICE_EVENTS = 64;

interface Entry {
  event: ServiceEvent;
  health: boolean;
}

/**
 * The last events of one service, oldest first, bounded. A service's own
 * state changes and its health results are kept apart: health flips (often
 * caused by another service restarting) never push more than a quarter of
 * the state changes out, and an identical health failure is counted on one
 * entry, moved to its latest time, rather than repeated.
 */
export class ServiceHistory {
  #entries: Entry[] = [];
  #max: number;
  #healthReserve: number;

  /** Makes an empty history keeping at most `max` events. */
  constructor(max: number = MAX_SERVICE_EVENTS) {
    if (!(max >= 1)) throw new Error(`Cannot keep ${max} service events`);
    this.#max = max;
    this.#healthReserve = Math.floor(max / 4);
  }

  /** Records a state change, dropping the oldest beyond the bound. */
  push(event: ServiceEvent): void {
    this.#entries.push({ event: { ...event }, health: false });
    this.#trim();
  }

  /** Records a health result; an identical failure is counted, not repeated. */
  pushHealth(event: ServiceEvent): void {
    const failure = event.message !== HEALTH_OK;
    const i = failure
      ? this.#entries.findIndex((e) =>
        e.health && e.event.message === event.message &&
        e.event.state === event.state
      )
      : -1;
    let count = 1;
    if (i >= 0) {
      count = (this.#entries[i].event.count ?? 1) + 1;
      this.#entries.splice(i, 1);
    }
    const stored: ServiceEvent = { ...event };
    if (count > 1) stored.count = count;
    this.#entries.push({ event: stored, health: true });
    this.#trim();
  }

  /** A copy of the events, oldest first. */
  list(): ServiceEvent[] {
    return this.#entries.map((e) => ({ ...e.event }));
  }

  /** The latest event, if any. */
  last(): ServiceEvent | undefined {
    const e = this.#entries.at(-1);
    return e && { ...e.event };
  }

  #trim(): void {
    while (this.#entries.length > this.#max) {
      // Health results give way first, down to their reserve; below it the
      // state changes do, so the latest health result is never lost.
      const health = this.#entries.filter((e) => e.health).length;
      const i = health > this.#healthReserve
        ? this.#entries.findIndex((e) => e.health)
        : this.#entries.findIndex((e) => !e.health);
      this.#entries.splice(i >= 0 ? i : 0, 1);
    }
  }
}

/** The message of a passing health check. */
export const HEALTH_OK = "Health check successful";
