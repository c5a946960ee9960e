/** Restart backoff settings; the defaults are Bronze's policy. */
export interface BackoffOptions {
  /** First delay (ms); default 1000. */
  initialMs?: number;
  /** Most delay (ms); default 30000. */
  maxMs?: number;
  /** Growth per attempt; default 2. */
  factor?: number;
  /** Fraction of the delay taken off at random, 0..1; default 0.2. */
  jitter?: number;
  /** Healthy this long resets the delay to `initialMs` (ms); default 60000. */
  resetAfterMs?: number;
  /** Random source in [0, 1); Math.random by default. */
  random?: () => number;
}

/** The resolved settings of a {@linkcode Backoff}. */
export type BackoffSettings = Required<Omit<BackoffOptions, "random">>;

/** Bronze's restart policy: 1 s doubling to 30 s, reset after 60 s healthy. */
export const DEFAULT_BACKOFF: Readonly<BackoffSettings> = {
  initialMs: 1000,
  maxMs: 30000,
  factor: 2,
  jitter: 0.2,
  resetAfterMs: 60000,
};

/**
 * Exponential backoff with jitter: attempt n waits
 * `min(max, initial * factor^n)` minus up to `jitter` of it at random, so
 * restarts of many services do not line up.
 */
export class Backoff {
  #settings: BackoffSettings;
  #random: () => number;
  #attempt = 0;

  /** Makes a backoff at attempt 0. */
  constructor(options: BackoffOptions = {}) {
    this.#settings = { ...DEFAULT_BACKOFF, ...withoutUndefined(options) };
    this.#random = options.random ?? Math.random;
    const s = this.#settings;
    if (
      !(s.initialMs > 0) || !(s.maxMs >= s.initialMs) || !(s.factor >= 1) ||
      !(s.jitter >= 0 && s.jitter <= 1) || !(s.resetAfterMs >= 0)
    ) {
      throw new Error(`Cannot use backoff settings ${JSON.stringify(s)}`);
    }
  }

  /** The resolved settings. */
  get settings(): Readonly<BackoffSettings> {
    return this.#settings;
  }

  /** How many delays were handed out since the last reset. */
  get attempt(): number {
    return this.#attempt;
  }

  /** The delay before the next restart (ms); advances the attempt. */
  next(): number {
    const s = this.#settings;
    const base = Math.min(
      s.maxMs,
      s.initialMs * Math.pow(s.factor, this.#attempt),
    );
    this.#attempt++;
    return Math.round(base * (1 - s.jitter * this.#random()));
  }

  /** Back to the first delay. */
  reset(): void {
    this.#attempt = 0;
  }
}

function withoutUndefined(o: BackoffOptions): Partial<BackoffSettings> {
  const out: Partial<BackoffSettings> = {};
  for (const k of Object.keys(DEFAULT_BACKOFF) as (keyof BackoffSettings)[]) {
    const v = o[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/**
 * The longest wait before restarting a service the node cannot be reached
 * without (the bus, apid): Talos restarts every service after a fixed 5 s.
 */
export const CRITICAL_MAX_MS = 5000;

/**
 * The backoff of a critical service: `options` with its delays capped at
 * {@linkcode CRITICAL_MAX_MS}, so a crash loop is still backed off (1, 2,
 * 4, 5, 5 s ...) but the node's API is never down long between attempts.
 */
export function criticalBackoff(options: BackoffOptions = {}): BackoffOptions {
  const maxMs = Math.min(
    options.maxMs ?? DEFAULT_BACKOFF.maxMs,
    CRITICAL_MAX_MS,
  );
  const initialMs = Math.min(
    options.initialMs ?? DEFAULT_BACKOFF.initialMs,
    maxMs,
  );
  return { ...options, initialMs, maxMs };
}
