import {
  assert,
  assertEquals,
  delay,
  waitUntil,
} from "../../lib/testing/mod.ts";
import { ApiError } from "../../lib/api_error/mod.ts";
import {
  fanOutStream,
  fanOutUnary,
  legTimeoutMs,
  type MergedEvent,
  type StreamLeg,
} from "./fanout.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

Deno.test("fanOutUnary() runs legs at once, each under its own deadline", async (t) => {
  await t.step(
    "good, failing and hanging legs give one result each, in order",
    async () => {
      let hangAborted = false;
      const started = Date.now();
      const results = await fanOutUnary<string>([
        { target: "a", call: async (s) => (await delay(20, s), "A") },
        {
          target: "b",
          call: () => Promise.reject(new ApiError("Unavailable", "refused")),
        },
        {
          target: "c",
          call: (s) =>
            new Promise((_, reject) =>
              s.addEventListener("abort", () => {
                hangAborted = true;
                reject(s.reason);
              })
            ),
        },
        { target: "d", call: async (s) => (await delay(30, s), "D") },
      ], { legTimeoutMs: 300 });
      const took = Date.now() - started;
      assertEquals(results.map((r) => r.target), ["a", "b", "c", "d"]);
      assert(results[0].ok && results[0].value === "A");
      assert(!results[1].ok && results[1].error.status === "Unavailable");
      assert(!results[2].ok && results[2].error.status === "DeadlineExceeded");
      assert(results[3].ok && results[3].value === "D");
      assert(hangAborted, "the hanging leg saw its abort");
      assert(took < 2000, `took ${took} ms, want about one leg deadline`);
    },
  );

  await t.step(
    "a leg that ignores its signal still ends at the deadline",
    async () => {
      let release: () => void = () => {};
      const never = new Promise<string>((r) => (release = () => r("late")));
      const results = await fanOutUnary([{ target: "x", call: () => never }], {
        legTimeoutMs: 50,
      });
      assert(!results[0].ok && results[0].error.status === "DeadlineExceeded");
      release();
    },
  );

  await t.step("aborting the parent cancels every leg", async () => {
    const ac = new AbortController();
    const started: string[] = [];
    const hang = async (target: string, s: AbortSignal) => {
      started.push(target);
      await delay(10000, s);
      return target;
    };
    const p = fanOutUnary<string>([
      { target: "a", call: (s) => hang("A", s) },
      { target: "b", call: (s) => hang("B", s) },
    ], { legTimeoutMs: 10000, signal: ac.signal });
    await waitUntil(() => started.length === 2, {
      timeoutMs: 5000,
      intervalMs: 5,
      what: "both legs running",
    });
    ac.abort();
    const results = await p;
    assert(results.every((r) => !r.ok && r.error.status === "Canceled"));
  });
});

function streamLeg(
  target: string,
  opts: { lines: number; every: number; fail?: string; openDelay?: number },
  opened: string[],
  closed: string[],
): StreamLeg {
  return {
    target,
    open: async (signal) => {
      if (opts.openDelay) await delay(opts.openDelay, signal);
      opened.push(target);
      return (async function* () {
        try {
          for (let i = 0; i < opts.lines; i++) {
            await delay(opts.every, signal);
            yield enc.encode(`${target}${i}`);
          }
          if (opts.fail) throw new ApiError("Internal", opts.fail);
        } finally {
          closed.push(target);
        }
      })();
    },
  };
}

function show(e: MergedEvent): string {
  return "data" in e ? dec.decode(e.data) : `${e.target}!${e.error.status}`;
}

Deno.test("fanOutStream() merges legs as messages arrive", async (t) => {
  await t.step(
    "messages interleave; a failing leg ends with one error event",
    async () => {
      const opened: string[] = [];
      const closed: string[] = [];
      const events: string[] = [];
      for await (
        const e of fanOutStream([
          streamLeg("a", { lines: 3, every: 10 }, opened, closed),
          streamLeg("b", { lines: 1, every: 5, fail: "died" }, opened, closed),
          streamLeg("c", { lines: 2, every: 15 }, opened, closed),
        ], { legTimeoutMs: 1000 })
      ) events.push(show(e));
      assertEquals(events.filter((e) => e.startsWith("a")), ["a0", "a1", "a2"]);
      assertEquals(events.filter((e) => e.startsWith("c")), ["c0", "c1"]);
      assertEquals(events.filter((e) => e.startsWith("b")), [
        "b0",
        "b!Internal",
      ]);
      // interleaved: c0 arrives before a2
      assert(events.indexOf("c0") < events.indexOf("a2"), events.join(","));
      assertEquals(closed.sort(), ["a", "b", "c"]);
    },
  );

  await t.step(
    "a leg that does not open in time is an error event",
    async () => {
      const opened: string[] = [];
      const closed: string[] = [];
      const events: string[] = [];
      const started = Date.now();
      for await (
        const e of fanOutStream([
          streamLeg("a", { lines: 2, every: 5 }, opened, closed),
          streamLeg(
            "slow",
            { lines: 1, every: 1, openDelay: 10000 },
            opened,
            closed,
          ),
        ], { legTimeoutMs: 100 })
      ) events.push(show(e));
      assertEquals(events.sort(), ["a0", "a1", "slow!DeadlineExceeded"]);
      assert(Date.now() - started < 3000);
    },
  );

  await t.step("breaking out and aborting cancel every leg", async () => {
    for (const how of ["break", "abort"] as const) {
      const opened: string[] = [];
      const closed: string[] = [];
      const ac = new AbortController();
      let n = 0;
      for await (
        const _ of fanOutStream([
          streamLeg("a", { lines: 1000, every: 5 }, opened, closed),
          streamLeg("b", { lines: 1000, every: 7 }, opened, closed),
        ], { legTimeoutMs: 1000, signal: ac.signal })
      ) {
        if (++n === 5) {
          if (how === "break") break;
          ac.abort();
        }
      }
      assertEquals(closed.sort(), ["a", "b"], how);
    }
  });
});

Deno.test("legTimeoutMs() is the leg default, cut by a nearer client deadline", () => {
  assertEquals(legTimeoutMs(5000, undefined, 0), 5000);
  assertEquals(legTimeoutMs(5000, Infinity, 0), 5000);
  assertEquals(legTimeoutMs(5000, 60000, 0), 5000);
  assertEquals(legTimeoutMs(5000, 1000, 0), 900);
  assertEquals(legTimeoutMs(5000, 4000, 0), 3750);
  assertEquals(legTimeoutMs(5000, -5, 0), 1);
});
