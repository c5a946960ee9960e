/**
 * A promise for the end of a daemon's run: resolves when its signal aborts.
 * @module
 */

/** Resolves once `signal` is aborted (at once if it already is); never rejects. */
export function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}
