import type { ServiceState } from "./state.ts";

/** One entry of a service's event history. */
export interface ServiceEvent {
  /** When (ms since the epoch). */
  ts: number;
  /** The state the service was in. */
  state: ServiceState;
  /** What happened. */
  message: string;
}

/** How many events a service keeps, as Talos does. */
export const MAX_SERVICE_EVENTS = 64;

/** The last events of one service, oldest first, bounded. */
export class ServiceHistory {
  #events: ServiceEvent[] = [];
  #max: number;

  /** Makes an empty history keeping at most `max` events. */
  constructor(max: number = MAX_SERVICE_EVENTS) {
    if (!(max >= 1)) throw new Error(`Cannot keep ${max} service events`);
    this.#max = max;
  }

  /** Records an event, dropping the oldest beyond the bound. */
  push(event: ServiceEvent): void {
    this.#events.push(event);
    if (this.#events.length > this.#max) {
      this.#events.splice(0, this.#events.length - this.#max);
    }
  }

  /** A copy of the events, oldest first. */
  list(): ServiceEvent[] {
    return [...this.#events];
  }

  /** The latest event, if any. */
  last(): ServiceEvent | undefined {
    return this.#events.at(-1);
  }
}
