/** One entry of a {@linkcode SeqRing}: a value and its sequence number. */
export interface RingEntry<T> {
  /** Monotonic sequence number, from 1. */
  seq: number;
  /** The stored value. */
  value: T;
}

/** Options for {@linkcode SeqRing}. */
export interface SeqRingOptions<T> {
  /** Most entries kept (default unbounded, but then give maxBytes). */
  maxItems?: number;
  /** Most bytes kept, as `size` measures them. */
  maxBytes?: number;
  /** The size of one value in bytes (needed with maxBytes). */
  size?: (value: T) => number;
}

/** What a follower gets: entries, or a note that it fell behind. */
export type FollowItem<T> =
  | { kind: "entry"; entry: RingEntry<T> }
  | { kind: "dropped"; count: number };

/**
 * A bounded history with sequence numbers: the oldest entries go when the
 * item or byte bound is hit. Followers keep a cursor into the ring, so a slow
 * follower costs nothing: it is told how many entries it missed.
 */
export class SeqRing<T> {
  #items: RingEntry<T>[] = [];
  #start = 0;
  #bytes = 0;
  #nextSeq = 1;
  #maxItems: number;
  #maxBytes: number;
  #size: (value: T) => number;
  #waiters = new Set<() => void>();

  /** Makes an empty ring. */
  constructor(options: SeqRingOptions<T>) {
    this.#maxItems = options.maxItems ?? Number.POSITIVE_INFINITY;
    this.#maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
    this.#size = options.size ?? (() => 0);
    if (
      !(this.#maxItems > 0) || !(this.#maxBytes > 0) ||
      (options.maxItems === undefined && options.maxBytes === undefined)
    ) {
      throw new Error(
        `Cannot make a ring bounded by ${options.maxItems} items and ${options.maxBytes} bytes`,
      );
    }
  }

  /** Number of entries kept. */
  get length(): number {
    return this.#items.length - this.#start;
  }

  /** Bytes kept, as `size` measures them. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The sequence number the next entry will get. */
  get nextSeq(): number {
    return this.#nextSeq;
  }

  /** Appends a value, dropping the oldest entries beyond the bounds. */
  push(value: T): number {
    const seq = this.#nextSeq++;
    this.#items.push({ seq, value });
    this.#bytes += this.#size(value);
    while (
      this.length > 1 &&
      (this.length > this.#maxItems || this.#bytes > this.#maxBytes)
    ) {
      this.#bytes -= this.#size(this.#items[this.#start].value);
      this.#start++;
    }
    if (this.#start > 1024 && this.#start * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#start);
      this.#start = 0;
    }
    for (const wake of this.#waiters) wake();
    this.#waiters.clear();
    return seq;
  }

  /** The last `n` entries, oldest first; n < 0 gives all. */
  tail(n: number): RingEntry<T>[] {
    const count = n < 0 ? this.length : Math.min(n, this.length);
    return this.#items.slice(this.#items.length - count);
  }

  /** Entries with seq >= `from`, and how many such entries were dropped. */
  since(from: number): { dropped: number; entries: RingEntry<T>[] } {
    const first = this.length ? this.#items[this.#start].seq : this.#nextSeq;
    const dropped = Math.max(0, first - from);
    const offset = Math.max(0, from - first);
    return { dropped, entries: this.#items.slice(this.#start + offset) };
  }

  /** Resolves when an entry is pushed or `signal` aborts. */
  changed(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const wake = () => {
        signal?.removeEventListener("abort", wake);
        this.#waiters.delete(wake);
        resolve();
      };
      this.#waiters.add(wake);
      signal?.addEventListener("abort", wake, { once: true });
    });
  }

  /**
   * Yields entries from seq `from` on, then new ones as they come, until
   * `signal` aborts. A follower that fell behind gets a "dropped" item.
   */
  async *follow(
    from: number,
    signal: AbortSignal,
  ): AsyncGenerator<FollowItem<T>, void, undefined> {
    let cursor = from;
    while (!signal.aborted) {
      const { dropped, entries } = this.since(cursor);
      if (dropped > 0) yield { kind: "dropped", count: dropped };
      cursor += dropped;
      for (const entry of entries) {
        if (signal.aborted) return;
        yield { kind: "entry", entry };
        cursor = entry.seq + 1;
        // Entries may have been evicted while we waited for the reader.
        if (this.since(cursor).dropped > 0) break;
      }
      if (this.since(cursor).entries.length === 0 && !signal.aborted) {
        await this.changed(signal);
      }
    }
  }
}
