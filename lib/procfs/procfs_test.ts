import {
  assert,
  assertEquals,
  assertIncludes,
  assertThrows,
} from "../testing/mod.ts";
import {
  listProcesses,
  parseLoadavg,
  parseMeminfo,
  parseSmapsRollup,
  parseStat,
  readLoadavg,
  readMeminfo,
  readProcess,
  readProcessMemory,
} from "./mod.ts";

Deno.test("parseMeminfo() reads kB fields as bytes", async (t) => {
  await t.step("parses the known fields", () => {
    const m = parseMeminfo(
      "MemTotal:       1000 kB\nMemFree:  200 kB\nMemAvailable: 300 kB\n" +
        "Buffers: 4 kB\nCached: 5 kB\nShmem: 6 kB\nSwapTotal: 9 kB\n",
    );
    assertEquals(m, {
      memTotal: 1024000,
      memFree: 204800,
      memAvailable: 307200,
      buffers: 4096,
      cached: 5120,
      shmem: 6144,
    });
  });
  await t.step("rejects text without MemTotal", () => {
    const err = assertThrows(() => parseMeminfo("garbage"));
    assertIncludes(String(err), "no MemTotal");
  });
  await t.step("reads the real file", async () => {
    assert((await readMeminfo()).memTotal > 0);
  });
});

Deno.test("parseLoadavg() reads three averages", async (t) => {
  await t.step("parses", () => {
    assertEquals(parseLoadavg("0.64 0.32 0.15 3/98 9232\n"), {
      load1: 0.64,
      load5: 0.32,
      load15: 0.15,
    });
  });
  await t.step("rejects garbage, quoting it", () => {
    assertIncludes(String(assertThrows(() => parseLoadavg("a b"))), '"a b"');
  });
  await t.step("reads the real file", async () => {
    assert((await readLoadavg()).load1 >= 0);
  });
});

Deno.test("parseSmapsRollup() reads Rss and Pss", async (t) => {
  await t.step("parses", () => {
    assertEquals(
      parseSmapsRollup(
        "55c-7ff ---p 0 00:00 0 [rollup]\nRss:  1748 kB\nPss:  339 kB\n" +
          "Private_Dirty:  112 kB\n",
      ),
      { rss: 1748 * 1024, pss: 339 * 1024, privateDirty: 112 * 1024 },
    );
  });
  await t.step("rejects text without Rss", () => {
    assertThrows(() => parseSmapsRollup("Pss: 1 kB"), Error, "no Rss/Pss");
  });
  await t.step("reads this process", async () => {
    const m = await readProcessMemory(Deno.pid);
    assert(m.rss > 0 && m.pss > 0 && m.pss <= m.rss);
  });
});

Deno.test("parseStat() handles a comm with spaces and parens", async (t) => {
  await t.step("parses", () => {
    assertEquals(parseStat("42 (a (b) c) S 1 42 42 0 -1 4194560"), {
      pid: 42,
      comm: "a (b) c",
      state: "S",
      ppid: 1,
      pgid: 42,
    });
  });
  await t.step("finds this process in the table", async () => {
    const me = await readProcess(Deno.pid);
    assert(me && me.argv.length > 0);
    const all = await listProcesses();
    assert(all.some((p) => p.pid === Deno.pid));
  });
  await t.step("a gone process is undefined", async () => {
    assertEquals(await readProcess(2 ** 22 + 1), undefined);
  });
});
