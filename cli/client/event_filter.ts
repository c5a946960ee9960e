/**
 * Client-side filters of `osctl events` for what the Events method does not
 * select itself: after an event ID (--since), within a past duration
 * (--duration), and the events of one action (--actor-id: from the sequence
 * its actor started to that sequence's end). Each node is filtered on its own.
 * @module
 */
import type { Event } from "../../lib/api/gen/machine/machine.ts";

/** What to keep. */
export interface EventFilterOptions {
  /** Keep only events after this event ID. */
  since?: string;
  /** Keep only events at or after this moment (ms since the epoch). */
  notBefore?: number;
  /** Keep only the events of the action with this actor ID. */
  actorId?: string;
}

/** The boot and sequence number of an event ID ("4d81b727-33"). */
function idParts(id: string): { boot: string; seq: number } | undefined {
  const m = /^(.*)-(\d+)$/.exec(id);
  return m ? { boot: m[1], seq: Number(m[2]) } : undefined;
}

/** Keeps or drops events, node by node, in the order they arrive. */
export class EventFilter {
  #options: EventFilterOptions;
  #passedSince = new Set<string>();
  #inAction = new Map<string, string>();

  /** Makes a filter; no option keeps everything. */
  constructor(options: EventFilterOptions) {
    this.#options = options;
  }

  /** Whether to print `e`, which came from `node`. */
  accept(node: string, e: Event): boolean {
    return this.#since(node, e) && this.#time(e) && this.#actor(node, e);
  }

  #since(node: string, e: Event): boolean {
    const since = this.#options.since;
    if (since === undefined || this.#passedSince.has(node)) return true;
    if (e.id === since) {
      this.#passedSince.add(node);
      return false;
    }
    // The event itself may have left the node's history: a later one of
    // the same boot is past it too.
    const a = idParts(e.id);
    const b = idParts(since);
    if (a && b && a.boot === b.boot && a.seq > b.seq) {
      this.#passedSince.add(node);
      return true;
    }
    return false;
  }

  #time(e: Event): boolean {
    if (this.#options.notBefore === undefined) return true;
    const ts = Date.parse(e.ts);
    return Number.isFinite(ts) && ts >= this.#options.notBefore;
  }

  #actor(node: string, e: Event): boolean {
    const actor = this.#options.actorId;
    if (actor === undefined) return true;
    const sequence = this.#inAction.get(node);
    if (sequence === undefined) {
      if (
        e.type === "sequence" && e.state === "start" &&
        e.message.includes(`(actor ${actor})`)
      ) {
        this.#inAction.set(node, e.message.split(":")[0]);
        return true;
      }
      return false;
    }
    if (
      e.type === "sequence" && e.state === "stop" &&
      e.message.split(":")[0] === sequence
    ) {
      this.#inAction.delete(node);
    }
    return true;
  }
}
