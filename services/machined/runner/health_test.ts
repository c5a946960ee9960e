import { assertEquals } from "../../../lib/testing/mod.ts";
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
