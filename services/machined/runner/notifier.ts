/** Wakes every waiter when something changed (states, health). */
export class Notifier {
  #waiters = new Set<() => void>();

  /** Wakes everyone waiting now. */
  notify(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const w of waiters) w();
  }

  /** Resolves at the next notify(), after `timeoutMs`, or on abort. */
  wait(signal: AbortSignal, timeoutMs = 1000): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        this.#waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.#waiters.add(done);
      signal.addEventListener("abort", done, { once: true });
    });
  }
}

/**
 * A wake-up for one waiter that is not lost when it comes between waits:
 * the next wait then returns at once.
 */
export class Poke {
  #pending = false;
  #notifier = new Notifier();

  /** Wakes the waiter now, or its next wait. */
  poke(): void {
    this.#pending = true;
    this.#notifier.notify();
  }

  /** Resolves at a poke (made now or before), after `timeoutMs`, or on abort. */
  async wait(signal: AbortSignal, timeoutMs: number): Promise<void> {
    if (!this.#pending) await this.#notifier.wait(signal, timeoutMs);
    this.#pending = false;
  }
}

/** Sleeps `ms`, or less if `signal` aborts; resolves true when aborted. */
export function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(true);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(false);
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
