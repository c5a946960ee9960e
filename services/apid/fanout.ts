/**
 * Fan-out of one call to many targets: every leg starts at once and has its
 * own deadline, so one slow or black-holed target costs at most its deadline,
 * never the sum of the legs. Unary legs are collected in target order;
 * stream legs are merged as their messages arrive.
 * @module
 */
import { ApiError } from "../../lib/api_error/mod.ts";

/** A unary leg: one target and how to call it. */
export interface UnaryLeg<T> {
  /** The target as the client named it. */
  target: string;
  /** Calls the target; must give up when `signal` aborts. */
  call(signal: AbortSignal): Promise<T>;
}

/** The outcome of one leg. */
export type LegResult<T> =
  | { target: string; ok: true; value: T }
  | { target: string; ok: false; error: ApiError };

/** Options of {@linkcode fanOutUnary} and {@linkcode fanOutStream}. */
export interface FanOutOptions {
  /** Deadline of each leg in ms (unary: the whole call; stream: opening). */
  legTimeoutMs: number;
  /** Aborts every leg (the client went away). */
  signal?: AbortSignal;
}

/**
 * Runs every leg at once, each under its own deadline, and returns one
 * result per leg in leg order. Never rejects: failures are results.
 */
export function fanOutUnary<T>(
  legs: readonly UnaryLeg<T>[],
  options: FanOutOptions,
): Promise<LegResult<T>[]> {
  return Promise.all(legs.map((leg) => runLeg(leg, options)));
}

async function runLeg<T>(
  leg: UnaryLeg<T>,
  options: FanOutOptions,
): Promise<LegResult<T>> {
  const ac = new AbortController();
  const deadline = legDeadlineError(leg.target, options.legTimeoutMs);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const onParentAbort = () =>
    ac.abort(new ApiError("Canceled", "call canceled by the client"));
  options.signal?.addEventListener("abort", onParentAbort, { once: true });
  if (options.signal?.aborted) onParentAbort();
  const stopped = new Promise<never>((_, reject) => {
    const fail = () => reject(ac.signal.reason);
    if (ac.signal.aborted) fail();
    else ac.signal.addEventListener("abort", fail, { once: true });
    timer = setTimeout(() => ac.abort(deadline), options.legTimeoutMs);
  });
  stopped.catch(() => {});
  try {
    const value = await Promise.race([leg.call(ac.signal), stopped]);
    return { target: leg.target, ok: true, value };
  } catch (err) {
    return { target: leg.target, ok: false, error: asApiError(err) };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onParentAbort);
    if (!ac.signal.aborted) ac.abort(new ApiError("Canceled", "leg finished"));
  }
}

/** A stream leg: opens a server stream on one target. */
export interface StreamLeg {
  /** The target as the client named it. */
  target: string;
  /**
   * Opens the stream; resolves once the target accepted it (e.g. response
   * headers arrived). The iterable ends or throws when the stream does, and
   * must stop when `signal` aborts.
   */
  open(signal: AbortSignal): Promise<AsyncIterable<Uint8Array>>;
}

/** One event of a merged stream: a message of a target, or its end in error. */
export type MergedEvent =
  | { target: string; data: Uint8Array }
  | { target: string; error: ApiError };

/**
 * Opens every leg at once (each must open within the leg deadline) and
 * yields their messages as they arrive, with at most one message read ahead
 * per leg. A leg that fails yields one error event; the others go on. The
 * merge ends when every leg has ended. Returning early or aborting cancels
 * every leg.
 */
export async function* fanOutStream(
  legs: readonly StreamLeg[],
  options: FanOutOptions,
): AsyncGenerator<MergedEvent, void, undefined> {
  const ac = new AbortController();
  const onParentAbort = () =>
    ac.abort(new ApiError("Canceled", "call canceled by the client"));
  options.signal?.addEventListener("abort", onParentAbort, { once: true });
  if (options.signal?.aborted) onParentAbort();
  const aborted = new Promise<"aborted">((resolve) => {
    if (ac.signal.aborted) resolve("aborted");
    else {
      ac.signal.addEventListener("abort", () => resolve("aborted"), {
        once: true,
      });
    }
  });

  type Next = { index: number; result: IteratorResult<MergedEvent, void> };
  const iterators = legs.map((leg) => legEvents(leg, options, ac.signal));
  const pending = new Map<number, Promise<Next>>();
  const arm = (index: number) => {
    pending.set(
      index,
      iterators[index].next().then((result) => ({ index, result })),
    );
  };
  iterators.forEach((_, i) => arm(i));
  try {
    while (pending.size > 0) {
      const winner = await Promise.race([...pending.values(), aborted]);
      if (winner === "aborted") return;
      if (winner.result.done) {
        pending.delete(winner.index);
        continue;
      }
      arm(winner.index);
      yield winner.result.value;
    }
  } finally {
    options.signal?.removeEventListener("abort", onParentAbort);
    if (!ac.signal.aborted) ac.abort(new ApiError("Canceled", "merge ended"));
    // Legs see the abort and end; wait for them so nothing outlives the call.
    await Promise.allSettled(
      iterators.map((it, i) =>
        pending.has(i) ? pending.get(i)!.then(() => it.return()) : it.return()
      ),
    );
  }
}

/** One leg as events: its messages, then one error event if it fails. */
async function* legEvents(
  leg: StreamLeg,
  options: FanOutOptions,
  parent: AbortSignal,
): AsyncGenerator<MergedEvent, void, undefined> {
  const ac = new AbortController();
  const onParentAbort = () => ac.abort(parent.reason);
  parent.addEventListener("abort", onParentAbort, { once: true });
  if (parent.aborted) onParentAbort();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const opening = leg.open(ac.signal);
    opening.catch(() => {});
    const stopped = new Promise<never>((_, reject) => {
      const fail = () => reject(ac.signal.reason);
      if (ac.signal.aborted) fail();
      else ac.signal.addEventListener("abort", fail, { once: true });
      timer = setTimeout(
        () => ac.abort(legDeadlineError(leg.target, options.legTimeoutMs)),
        options.legTimeoutMs,
      );
    });
    stopped.catch(() => {});
    const messages = await Promise.race([opening, stopped]);
    clearTimeout(timer);
    for await (const data of messages) {
      if (parent.aborted) return;
      yield { target: leg.target, data };
    }
  } catch (err) {
    if (parent.aborted) return;
    yield { target: leg.target, error: asApiError(err) };
  } finally {
    clearTimeout(timer);
    parent.removeEventListener("abort", onParentAbort);
    if (!ac.signal.aborted) ac.abort(new ApiError("Canceled", "leg ended"));
  }
}

/**
 * The deadline of one leg: the configured leg timeout, cut short when the
 * client's own deadline is nearer (minus a margin to send the merged reply).
 */
export function legTimeoutMs(
  configuredMs: number,
  clientDeadline: number | undefined,
  now: number = Date.now(),
): number {
  if (clientDeadline === undefined || !Number.isFinite(clientDeadline)) {
    return configuredMs;
  }
  const remaining = clientDeadline - now;
  const margin = Math.min(250, Math.max(0, remaining) * 0.1);
  return Math.max(1, Math.min(configuredMs, Math.floor(remaining - margin)));
}

function legDeadlineError(target: string, ms: number): ApiError {
  return new ApiError(
    "DeadlineExceeded",
    `no answer from "${target}" within ${ms} ms`,
  );
}

function asApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new ApiError("Unknown", message, { cause: err });
}
