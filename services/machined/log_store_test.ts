import { ApiError } from "../../lib/api_error/mod.ts";
import {
  assert,
  assertEquals,
  assertIncludes,
  assertRejects,
  assertThrows,
} from "../../lib/testing/mod.ts";
import { formatLogLine, LogStore } from "./log_store.ts";

Deno.test("LogStore keeps per-service bounded logs", async (t) => {
  await t.step("tail and all", () => {
    const s = new LogStore();
    s.register("apid");
    for (let i = 0; i < 5; i++) s.append("apid", `line ${i}`, i);
    assertEquals(s.tail("apid", 2).map((l) => l.text), ["line 3", "line 4"]);
    assertEquals(s.tail("apid", -1).length, 5);
  });
  await t.step("bounded by bytes (1 MiB by default)", () => {
    const s = new LogStore({ capacityBytes: 1000 });
    for (let i = 0; i < 1000; i++) s.append("x", "y".repeat(68));
    assert(s.ring("x").bytes <= 1000);
    assertEquals(s.tail("x", -1).length, 10);
    const big = new LogStore();
    for (let i = 0; i < 20000; i++) big.append("x", "z".repeat(100));
    assert(big.ring("x").bytes <= 1024 * 1024);
    assert(big.ring("x").bytes > 1000 * 1024);
  });
  await t.step("cuts very long lines", () => {
    const s = new LogStore({ maxLineChars: 10 });
    s.append("x", "a".repeat(50));
    assertEquals(s.tail("x", 1)[0].text, "a".repeat(10) + "…");
  });
  await t.step(
    'unknown id -> NotFound: log "x" was not registered',
    async () => {
      const s = new LogStore();
      const err = assertThrows(() => s.tail("nope", 1));
      assert(err instanceof ApiError);
      assertEquals(err.status, "NotFound");
      assertEquals(err.message, 'log "nope" was not registered');
      const err2 = await assertRejects(async () => {
        for await (
          const _ of s.readBatches("nope", {
            tail: 1,
            follow: false,
            signal: new AbortController().signal,
          })
        ) {
          // nothing
        }
      });
      assertEquals((err2 as ApiError).status, "NotFound");
    },
  );
  await t.step("readBatches() sends the tail then follows", async () => {
    const s = new LogStore();
    s.append("x", "old 1");
    s.append("x", "old 2");
    const ac = new AbortController();
    const got: string[] = [];
    const reader = (async () => {
      for await (
        const batch of s.readBatches("x", {
          tail: 1,
          follow: true,
          signal: ac.signal,
        })
      ) {
        got.push(...batch.map((l) => l.text));
        if (got.length >= 3) ac.abort();
      }
    })();
    await Promise.resolve();
    s.append("x", "new 1");
    s.append("x", "new 2");
    await reader;
    assertEquals(got, ["old 2", "new 1", "new 2"]);
  });
  await t.step("a reader behind the ring is told what it missed", async () => {
    const s = new LogStore({ capacityBytes: 200 });
    s.append("x", "first");
    const ac = new AbortController();
    const it = s.readBatches("x", { tail: 0, follow: true, signal: ac.signal });
    const next = it.next();
    for (let i = 0; i < 20; i++) s.append("x", `line ${i}`);
    const batch = (await next).value as { text: string }[];
    ac.abort();
    await it.return();
    assertIncludes(batch[0].text, "lines dropped: reader too slow");
    assertEquals(batch.at(-1)!.text, "line 19");
  });
  await t.step("formatLogLine() prefixes an RFC 3339 time", () => {
    assertEquals(
      formatLogLine({ ts: 0, text: "hi" }),
      "1970-01-01T00:00:00.000Z hi\n",
    );
  });
});
