/**
 * Reads a VM's serial console line by line, keeps every line with the host
 * time it arrived and the guest timestamp it carries (`[    4.123456]`),
 * and lets callers wait for a line matching a pattern.
 * @module
 */

/** One console line. */
export interface ConsoleLine {
  /** The text, without the line end. */
  text: string;
  /** Milliseconds since the reader started (host clock). */
  hostMs: number;
  /** Seconds since guest boot from a leading `[  s.micros]`, if any. */
  guestSeconds?: number;
  /** Index in the console history. */
  index: number;
}

/** Options for {@linkcode ConsoleReader.waitFor}. */
export interface WaitForOptions {
  /** Give up after this long (ms); default 120 s. */
  timeoutMs?: number;
  /** Only lines at or after this index count (default 0: the whole history). */
  from?: number;
  /** Aborts the wait. */
  signal?: AbortSignal;
}

/** A line match and the line. */
export interface ConsoleMatch extends ConsoleLine {
  /** The regular expression match. */
  match: RegExpExecArray;
}

interface Waiter {
  pattern: RegExp;
  from: number;
  resolve: (m: ConsoleMatch) => void;
  reject: (err: Error) => void;
}

const STAMP = /^\[\s*(\d+\.\d+)\]/;

/** Parses a leading kernel-style timestamp, in seconds. */
export function guestTimestamp(text: string): number | undefined {
  const m = STAMP.exec(text);
  return m === null ? undefined : Number(m[1]);
}

/** Console history and waits for lines; fed by {@linkcode ConsoleReader.pump}. */
export class ConsoleReader {
  #lines: ConsoleLine[] = [];
  #partial = "";
  #decoder = new TextDecoder();
  #waiters = new Set<Waiter>();
  #closed = false;
  #start = performance.now();
  #onLine?: (line: ConsoleLine) => void;

  /** `onLine` sees every line as it arrives (e.g. to echo or log it). */
  constructor(options: { onLine?: (line: ConsoleLine) => void } = {}) {
    this.#onLine = options.onLine;
  }

  /** Every line so far. */
  get lines(): readonly ConsoleLine[] {
    return this.#lines;
  }

  /** Whether the console stream has ended. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The whole console text so far. */
  text(): string {
    return this.#lines.map((l) => l.text).join("\n");
  }

  /** Feeds raw console bytes (a partial line waits for its end). */
  push(bytes: Uint8Array): void {
    const text = this.#partial + this.#decoder.decode(bytes, { stream: true });
    const parts = text.split("\n");
    this.#partial = parts.pop() ?? "";
    for (const p of parts) this.#add(p);
  }

  /** Marks the end of the console; pending waits fail with the last lines. */
  close(reason = "console closed"): void {
    if (this.#closed) return;
    if (this.#partial !== "") this.#add(this.#partial);
    this.#partial = "";
    this.#closed = true;
    for (const w of this.#waiters) {
      w.reject(
        new Error(
          `${reason} before a line matching ${w.pattern}${this.#tail()}`,
        ),
      );
    }
    this.#waiters.clear();
  }

  /** Reads `stream` to its end, then closes. */
  async pump(
    stream: ReadableStream<Uint8Array>,
    reason?: string,
  ): Promise<void> {
    try {
      for await (const chunk of stream) this.push(chunk);
    } finally {
      this.close(reason);
    }
  }

  #add(raw: string): void {
    // Serial consoles end lines with \r\n and may carry terminal escapes.
    // deno-lint-ignore no-control-regex
    const text = raw.replace(/\r/g, "").replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "");
    const line: ConsoleLine = {
      text,
      hostMs: performance.now() - this.#start,
      guestSeconds: guestTimestamp(text),
      index: this.#lines.length,
    };
    this.#lines.push(line);
    this.#onLine?.(line);
    for (const w of [...this.#waiters]) {
      if (line.index < w.from) continue;
      const m = w.pattern.exec(text);
      if (m !== null) {
        this.#waiters.delete(w);
        w.resolve({ ...line, match: m });
      }
    }
  }

  #tail(): string {
    const last = this.#lines.slice(-12).map((l) => `  | ${l.text}`).join("\n");
    return last === ""
      ? " (no console output)"
      : `; last console lines:\n${last}`;
  }

  /**
   * The first line (at or after `from`) matching `pattern`, waiting for it.
   * Rejects on timeout, abort, or the end of the console, quoting the last
   * lines seen.
   */
  waitFor(
    pattern: RegExp,
    options: WaitForOptions = {},
  ): Promise<ConsoleMatch> {
    const from = options.from ?? 0;
    for (const line of this.#lines.slice(from)) {
      const m = pattern.exec(line.text);
      if (m !== null) return Promise.resolve({ ...line, match: m });
    }
    if (this.#closed) {
      return Promise.reject(
        new Error(
          `Console closed without a line matching ${pattern}${this.#tail()}`,
        ),
      );
    }
    const timeoutMs = options.timeoutMs ?? 120_000;
    return new Promise<ConsoleMatch>((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
        this.#waiters.delete(waiter);
      };
      const waiter: Waiter = {
        pattern,
        from,
        resolve: (m) => {
          cleanup();
          resolve(m);
        },
        reject: (e) => {
          cleanup();
          reject(e);
        },
      };
      const timer = setTimeout(
        () =>
          waiter.reject(
            new Error(
              `No console line matching ${pattern} within ${timeoutMs} ms${this.#tail()}`,
            ),
          ),
        timeoutMs,
      );
      const onAbort = () =>
        waiter.reject(new Error(`Waiting for ${pattern} aborted`));
      if (options.signal?.aborted) {
        onAbort();
        return;
      }
      options.signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.add(waiter);
    });
  }
}
