import { errorText } from "../../../lib/log/mod.ts";
import { type Poke, sleep } from "./notifier.ts";

/** A health check: resolves when healthy, throws saying what is wrong. */
export type HealthCheck = (signal: AbortSignal) => Promise<void>;

/** When and how long health checks run. */
export interface HealthSettings {
  /** Wait after start before the first check (ms). */
  initialDelayMs: number;
  /** Between checks while healthy (ms). */
  periodMs: number;
  /**
   * Between checks while unknown or unhealthy (ms), so "up" shows soon;
   * doubled after each further failure up to `maxRetryMs`. A poke (the
   * daemon's health notice) checks at once whatever the wait.
   */
  retryMs: number;
  /** The longest wait between failing checks (ms); default retryMs. */
  maxRetryMs?: number;
  /** A check slower than this fails (ms). */
  timeoutMs: number;
  /**
   * Failures before the first success within this long after start leave the
   * health unknown instead of failed: a daemon is still connecting (ms, default 0).
   */
  startGraceMs?: number;
}

/** Default health settings (Talos: 1 s delay, 5 s period, 500 ms timeout). */
export const DEFAULT_HEALTH: Readonly<HealthSettings> = {
  initialDelayMs: 200,
  periodMs: 5000,
  retryMs: 250,
  maxRetryMs: 2000,
  timeoutMs: 2000,
  startGraceMs: 10_000,
};

/** Runs one check under a timeout; returns undefined or the failure. */
export async function checkOnce(
  check: HealthCheck,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<string | undefined> {
  const ac = new AbortController();
  const onAbort = () => ac.abort();
  signal.addEventListener("abort", onAbort, { once: true });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => {
      ac.abort();
      resolve(`timed out after ${timeoutMs} ms`);
    }, timeoutMs);
  });
  try {
    return await Promise.race([
      check(ac.signal).then(() => undefined, (err) => errorText(err)),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", onAbort);
  }
}

/**
 * Checks health until `signal` aborts, reporting each result; checks more
 * often while the service is not (yet) healthy.
 */
export async function runHealthChecks(
  check: HealthCheck,
  settings: HealthSettings,
  options: {
    signal: AbortSignal;
    onResult: (failure: string | undefined) => void;
    /** Wakes the loop for a check now (the daemon says its health changed). */
    pokes?: Poke;
  },
): Promise<void> {
  const { signal } = options;
  const started = Date.now();
  let everHealthy = false;
  let retry = settings.retryMs;
  const pause = async (ms: number): Promise<boolean> => {
    if (!options.pokes) return await sleep(ms, signal);
    await options.pokes.wait(signal, ms);
    return signal.aborted;
  };
  if (await pause(settings.initialDelayMs)) return;
  while (!signal.aborted) {
    const failure = await checkOnce(check, settings.timeoutMs, signal);
    if (signal.aborted) return;
    const starting = !everHealthy &&
      Date.now() - started < (settings.startGraceMs ?? 0);
    if (failure === undefined) everHealthy = true;
    if (failure === undefined || !starting) options.onResult(failure);
    let wait: number;
    if (failure === undefined) {
      wait = settings.periodMs;
      retry = settings.retryMs;
    } else {
      wait = retry;
      retry = Math.min(retry * 2, settings.maxRetryMs ?? settings.retryMs);
    }
    if (await pause(wait)) return;
  }
}
