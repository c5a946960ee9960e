import {
  assertEquals,
  assertIncludes,
  assertThrows,
} from "../../lib/testing/mod.ts";
import { type FollowItem, SeqRing } from "./ring.ts";

Deno.test("SeqRing bounds entries by count and bytes", async (t) => {
  await t.step("count bound drops the oldest", () => {
    const r = new SeqRing<number>({ maxItems: 3 });
    for (let i = 1; i <= 5; i++) r.push(i);
    assertEquals(r.tail(-1).map((e) => e.value), [3, 4, 5]);
    assertEquals(r.tail(2).map((e) => e.seq), [4, 5]);
    assertEquals(r.tail(0), []);
  });
  await t.step("byte bound drops the oldest", () => {
    const r = new SeqRing<string>({ maxBytes: 10, size: (s) => s.length });
    for (const s of ["aaaa", "bbbb", "cccc"]) r.push(s);
    assertEquals(r.tail(-1).map((e) => e.value), ["bbbb", "cccc"]);
    assertEquals(r.bytes, 8);
  });
  await t.step("since() reports dropped entries", () => {
    const r = new SeqRing<number>({ maxItems: 2 });
    for (let i = 1; i <= 4; i++) r.push(i);
    const s = r.since(1);
    assertEquals(s.dropped, 2);
    assertEquals(s.entries.map((e) => e.value), [3, 4]);
    assertEquals(r.since(5), { dropped: 0, entries: [] });
  });
  await t.step("compacts without losing order", () => {
    const r = new SeqRing<number>({ maxItems: 10 });
    for (let i = 0; i < 5000; i++) r.push(i);
    assertEquals(r.tail(-1).map((e) => e.value)[0], 4990);
    assertEquals(r.length, 10);
  });
  await t.step("refuses an unbounded ring", () => {
    assertIncludes(
      String(assertThrows(() => new SeqRing<number>({}))),
      "Cannot make a ring",
    );
  });
});

Deno.test("SeqRing.follow() yields new entries and tells a slow reader what it missed", async (t) => {
  await t.step("follows until aborted", async () => {
    const r = new SeqRing<number>({ maxItems: 100 });
    const ac = new AbortController();
    const got: number[] = [];
    const reader = (async () => {
      for await (const item of r.follow(r.nextSeq, ac.signal)) {
        if (item.kind === "entry") got.push(item.entry.value);
        if (got.length === 3) ac.abort();
      }
    })();
    r.push(1);
    await Promise.resolve();
    r.push(2);
    r.push(3);
    await reader;
    assertEquals(got, [1, 2, 3]);
  });
  await t.step("a reader behind the ring gets a dropped count", async () => {
    const r = new SeqRing<number>({ maxItems: 2 });
    const ac = new AbortController();
    const it = r.follow(1, ac.signal);
    for (let i = 1; i <= 5; i++) r.push(i);
    const items: FollowItem<number>[] = [];
    for (let i = 0; i < 3; i++) items.push((await it.next()).value!);
    ac.abort();
    await it.return();
    assertEquals(items[0], { kind: "dropped", count: 3 });
    assertEquals(
      items.slice(1).map((x) => x.kind === "entry" ? x.entry.value : -1),
      [4, 5],
    );
  });
});
