/**
 * Resolves after `ms`, or rejects with the signal's reason when it aborts.
 * For fakes that must be slow (a hanging leg, a paced stream); tests never
 * sleep to synchronise: they poll with waitUntil.
 */
export function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
