import { assertEquals } from "../testing/mod.ts";
import { untilAborted } from "./until_aborted.ts";

Deno.test("untilAborted() resolves on abort, and at once for an aborted signal", async () => {
  const ac = new AbortController();
  let done = false;
  const waiting = untilAborted(ac.signal).then(() => done = true);
  await Promise.resolve();
  assertEquals(done, false);
  ac.abort();
  await waiting;
  assertEquals(done, true);
  await untilAborted(AbortSignal.abort());
});
