import {
  assert,
  assertEquals,
  assertIncludes,
  assertThrows,
} from "../../../lib/testing/mod.ts";
import {
  Backoff,
  CRITICAL_MAX_MS,
  criticalBackoff,
  DEFAULT_BACKOFF,
} from "./backoff.ts";

Deno.test("Backoff doubles from 1 s to a 30 s cap with bounded jitter", async (t) => {
  await t.step("defaults are 1 s, x2, 30 s cap, 60 s reset", () => {
    assertEquals(DEFAULT_BACKOFF.initialMs, 1000);
    assertEquals(DEFAULT_BACKOFF.maxMs, 30000);
    assertEquals(DEFAULT_BACKOFF.factor, 2);
    assertEquals(DEFAULT_BACKOFF.resetAfterMs, 60000);
  });
  await t.step("without jitter: 1, 2, 4, 8, 16, 30, 30 s", () => {
    const b = new Backoff({ random: () => 0 });
    const delays = Array.from({ length: 7 }, () => b.next());
    assertEquals(delays, [1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    assertEquals(b.attempt, 7);
  });
  await t.step("jitter stays within (1 - jitter) .. 1 of the base", () => {
    let x = 0;
    const random = () => (x = (x + 0.37) % 1); // deterministic spread
    const b = new Backoff({ random });
    for (let i = 0; i < 200; i++) {
      const base = Math.min(30000, 1000 * 2 ** Math.min(i, 20));
      const d = b.next();
      assert(
        d <= base && d >= base * (1 - DEFAULT_BACKOFF.jitter) - 1,
        `attempt ${i}: ${d} outside ${base * 0.8}..${base}`,
      );
    }
    const worst = new Backoff({ random: () => 0.999999 });
    assert(worst.next() >= 800);
  });
  await t.step("reset starts over", () => {
    const b = new Backoff({ random: () => 0, initialMs: 10, maxMs: 100 });
    b.next();
    b.next();
    b.reset();
    assertEquals(b.next(), 10);
  });
  await t.step("rejects nonsense settings, quoting them", () => {
    const err = assertThrows(() => new Backoff({ initialMs: 10, maxMs: 5 }));
    assertIncludes(String(err), '"maxMs":5');
    assertThrows(
      () => new Backoff({ jitter: 2 }),
      Error,
      /^Cannot use backoff settings .*"jitter":2/,
    );
  });
});

Deno.test("criticalBackoff() caps the delays at 5 s and keeps growing to it", () => {
  const b = new Backoff({ ...criticalBackoff(), random: () => 0 });
  const got = Array.from({ length: 8 }, () => b.next());
  assertEquals(got, [1000, 2000, 4000, 5000, 5000, 5000, 5000, 5000]);
  assertEquals(CRITICAL_MAX_MS, 5000);
  assertEquals(
    criticalBackoff({ initialMs: 9000, maxMs: 60000 }).initialMs,
    5000,
  );
  assertEquals(criticalBackoff({ initialMs: 10, maxMs: 100 }).maxMs, 100);
});
