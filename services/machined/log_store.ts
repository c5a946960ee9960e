import { ApiError } from "../../lib/api_error/mod.ts";
import { SeqRing } from "./ring.ts";

/** One captured log line. */
export interface LogLine {
  /** When machined read it (ms since the epoch). */
  ts: number;
  /** The line, without its newline. */
  text: string;
}

/** Options for {@linkcode LogStore}. */
export interface LogStoreOptions {
  /** Bytes kept per service (default 1 MiB). */
  capacityBytes?: number;
  /** Longer lines are cut to this many characters (default 16 KiB). */
  maxLineChars?: number;
}

/** Default ring capacity per service, as Talos keeps. */
export const DEFAULT_LOG_CAPACITY = 1024 * 1024;
const LINE_OVERHEAD = 32; // the timestamp and bookkeeping of a line

/** Formats a line as the Logs API sends it: "<RFC 3339 time> <text>\n". */
export function formatLogLine(line: LogLine): string {
  return `${new Date(line.ts).toISOString()} ${line.text}\n`;
}

/** Per-service bounded rings of timestamped log lines. */
export class LogStore {
  #rings = new Map<string, SeqRing<LogLine>>();
  #capacity: number;
  #maxLine: number;

  /** Makes an empty store. */
  constructor(options: LogStoreOptions = {}) {
    this.#capacity = options.capacityBytes ?? DEFAULT_LOG_CAPACITY;
    this.#maxLine = options.maxLineChars ?? 16 * 1024;
  }

  /** Registers a service's log (idempotent). */
  register(id: string): void {
    if (this.#rings.has(id)) return;
    this.#rings.set(
      id,
      new SeqRing<LogLine>({
        maxBytes: this.#capacity,
        size: (l) => l.text.length + LINE_OVERHEAD,
      }),
    );
  }

  /** Registered ids. */
  ids(): string[] {
    return [...this.#rings.keys()];
  }

  /** Appends one line to a registered log (unknown ids are registered). */
  append(id: string, text: string, ts: number = Date.now()): void {
    this.register(id);
    const cut = text.length > this.#maxLine
      ? text.slice(0, this.#maxLine) + "…"
      : text;
    this.#rings.get(id)!.push({ ts, text: cut });
  }

  /** The ring of a log; NotFound `log "x" was not registered` otherwise. */
  ring(id: string): SeqRing<LogLine> {
    const ring = this.#rings.get(id);
    if (!ring) throw new ApiError("NotFound", `log "${id}" was not registered`);
    return ring;
  }

  /** The last `n` lines of a log (-1: all). */
  tail(id: string, n: number): LogLine[] {
    return this.ring(id).tail(n).map((e) => e.value);
  }

  /**
   * Streams a log in batches: the last `tail` lines (-1: all) as one batch,
   * then, with `follow`, what arrived since the last batch until `signal`
   * aborts. A reader that falls behind the ring is told how many lines it
   * missed. Unknown id: NotFound before anything is sent.
   */
  async *readBatches(
    id: string,
    options: { tail: number; follow: boolean; signal: AbortSignal },
  ): AsyncGenerator<LogLine[], void, undefined> {
    const ring = this.ring(id);
    const past = ring.tail(options.tail);
    let cursor = ring.nextSeq;
    if (past.length) yield past.map((e) => e.value);
    while (options.follow && !options.signal.aborted) {
      const { dropped, entries } = ring.since(cursor);
      if (dropped === 0 && entries.length === 0) {
        await ring.changed(options.signal);
        continue;
      }
      const batch = entries.map((e) => e.value);
      if (dropped > 0) {
        batch.unshift({
          ts: Date.now(),
          text: `[${dropped} lines dropped: reader too slow]`,
        });
      }
      cursor = (entries.at(-1)?.seq ?? cursor + dropped - 1) + 1;
      yield batch;
    }
  }
}
