/** Options for {@linkcode waitUntil}. */
export interface WaitOptions {
  /** Give up after this long (ms); default 30 s. */
  timeoutMs?: number;
  /** Pause between tries (ms); default 100. */
  intervalMs?: number;
  /** What is awaited, for the error message. */
  what?: string;
}

/**
 * Polls `check` until it returns a value other than undefined/false, or throws
 * after the deadline with the last error seen. Tests never sleep to sync.
 */
export async function waitUntil<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  options: WaitOptions = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 30000);
  let last: unknown;
  while (true) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `Timed out waiting for ${options.what ?? "condition"}`,
        { cause: last },
      );
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 100));
  }
}
