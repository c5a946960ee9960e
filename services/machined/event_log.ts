import { type RingEntry, SeqRing } from "./ring.ts";

/** What kind of runtime event: a service state change or a boot step. */
export type EventType = "service" | "sequence";

/** One runtime event, as the Events API sends it. */
export interface RuntimeEvent {
  /** Unique within this boot: "<boot id>-<seq>". */
  id: string;
  /** When it happened (ms since the epoch). */
  ts: number;
  /** Service state change or boot/shutdown step. */
  type: EventType;
  /** The service (empty for sequence events). */
  service: string;
  /** Service state, or the step's action ("start", "stop", "error"). */
  state: string;
  /** What happened. */
  message: string;
}

/** Default history of the Events API (Talos keeps about 1000). */
export const DEFAULT_EVENT_HISTORY = 1000;

/** A bounded history of runtime events with followers. */
export class EventLog {
  #ring: SeqRing<RuntimeEvent>;
  #bootId: string;

  /** Makes an empty log keeping at most `capacity` events. */
  constructor(capacity: number = DEFAULT_EVENT_HISTORY) {
    this.#ring = new SeqRing<RuntimeEvent>({ maxItems: capacity });
    this.#bootId = crypto.randomUUID().slice(0, 8);
  }

  /** Records an event and returns it. */
  emit(
    type: EventType,
    fields: { service?: string; state: string; message: string },
  ): RuntimeEvent {
    const ev: RuntimeEvent = {
      id: `${this.#bootId}-${this.#ring.nextSeq}`,
      ts: Date.now(),
      type,
      service: fields.service ?? "",
      state: fields.state,
      message: fields.message,
    };
    this.#ring.push(ev);
    return ev;
  }

  /** The last `n` events (-1: all), oldest first. */
  tail(n: number): RuntimeEvent[] {
    return this.#ring.tail(n).map((e: RingEntry<RuntimeEvent>) => e.value);
  }

  /** Past `tail` events (-1: all), then with `follow` new ones until abort. */
  async *read(
    options: { tail: number; follow: boolean; signal: AbortSignal },
  ): AsyncGenerator<RuntimeEvent, void, undefined> {
    const past = this.#ring.tail(options.tail);
    const from = this.#ring.nextSeq;
    for (const e of past) yield e.value;
    if (!options.follow) return;
    for await (const item of this.#ring.follow(from, options.signal)) {
      // Events are few; a reader 1000 events behind just skips ahead.
      if (item.kind === "entry") yield item.entry.value;
    }
  }
}
