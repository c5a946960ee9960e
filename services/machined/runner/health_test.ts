import { assert, assertEquals, waitUntil } from "../../../lib/testing/mod.ts";
import { Poke } from "./notifier.ts";
import { runHealthChecks } from "./health.ts";

const FAST = { initialDelayMs: 0, periodMs: 10, retryMs: 10, timeoutMs: 500 };

async function results(
  outcomes: (string | undefined)[],
  startGraceMs: number,
): Promise<(string | undefined)[]> {
  const seen: (string | undefined)[] = [];
  const ac = new AbortController();
  let i = 0;
  await runHealthChecks(
    () => {
      const o = outcomes[Math.min(i++, outcomes.length - 1)];
      return o === undefined ? Promise.resolve() : Promise.reject(new Error(o));
    },
    { ...FAST, startGraceMs },
    {
      signal: ac.signal,
      onResult: (f) => {
        seen.push(f);
        if (seen.length >= 3 || i >= outcomes.length) ac.abort();
      },
    },
  );
  return seen;
}

Deno.test("runHealthChecks() keeps start-up failures quiet within the grace, not after", async (t) => {
  await t.step(
    "failures before the first success are not reported in the grace",
    async () => {
      assertEquals(
        await results(["not yet", "not yet", undefined, "boom"], 60_000),
        [
          undefined,
          "boom",
        ],
      );
    },
  );
  await t.step("without grace every result is reported", async () => {
    assertEquals(await results(["not yet", undefined, "boom"], 0), [
      "not yet",
      undefined,
      "boom",
    ]);
  });
});

/** Runs checks that fail until `healthy()`; returns when one succeeds. */
function failingUntil(
  healthy: () => boolean,
  settings: { retryMs: number; maxRetryMs: number },
  pokes?: Poke,
): { times: number[]; done: Promise<void> } {
  const ac = new AbortController();
  const times: number[] = [];
  const t0 = performance.now();
  const done = runHealthChecks(
    () => {
      times.push(performance.now() - t0);
      return healthy() ? Promise.resolve() : Promise.reject(new Error("no"));
    },
    { initialDelayMs: 0, periodMs: 60_000, timeoutMs: 500, ...settings },
    {
      signal: ac.signal,
      pokes,
      onResult: (f) => {
        if (f === undefined) ac.abort();
      },
    },
  );
  return { times, done };
}

Deno.test("runHealthChecks() waits longer after each failed check", async () => {
  let ok = false;
  const run = failingUntil(() => ok, { retryMs: 20, maxRetryMs: 1000 });
  await waitUntil(() => run.times.length >= 5, { timeoutMs: 10_000 });
  ok = true;
  await run.done;
  const gaps = run.times.slice(1, 5).map((x, i) => x - run.times[i]);
  assert(
    gaps[3] > gaps[0] * 3,
    `the wait grows (20, 40, 80, 160 ms): gaps ${gaps.join(", ")}`,
  );
});

Deno.test("runHealthChecks() checks at once when poked", async () => {
  let ok = false;
  const pokes = new Poke();
  const run = failingUntil(
    () => ok,
    { retryMs: 60_000, maxRetryMs: 60_000 },
    pokes,
  );
  await waitUntil(() => run.times.length >= 1, { timeoutMs: 10_000 });
  ok = true;
  pokes.poke();
  // The next retry is a minute away: only the poke can make this check.
  await waitUntil(() => run.times.length >= 2, { timeoutMs: 10_000 });
  await run.done;
});

Deno.test("Poke wakes the waiter, even when it poked between waits", async () => {
  const p = new Poke();
  const ac = new AbortController();
  p.poke();
  const t0 = performance.now();
  await p.wait(ac.signal, 10_000);
  assert(performance.now() - t0 < 5_000, "a pending poke returns at once");
  const waiting = p.wait(ac.signal, 10_000);
  p.poke();
  await waiting;
  assert(performance.now() - t0 < 5_000);
});
