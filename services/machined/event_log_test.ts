import { assertEquals } from "../../lib/testing/mod.ts";
import { EventLog } from "./event_log.ts";

Deno.test("EventLog keeps a bounded history and follows", async (t) => {
  await t.step("bounded, ids unique", () => {
    const log = new EventLog(3);
    for (let i = 0; i < 5; i++) {
      log.emit("service", {
        service: "apid",
        state: "Running",
        message: `${i}`,
      });
    }
    const all = log.tail(-1);
    assertEquals(all.map((e) => e.message), ["2", "3", "4"]);
    assertEquals(new Set(all.map((e) => e.id)).size, 3);
    assertEquals(log.tail(1)[0].type, "service");
  });
  await t.step("read() tails then follows", async () => {
    const log = new EventLog();
    log.emit("sequence", { state: "start", message: "boot" });
    const ac = new AbortController();
    const got: string[] = [];
    const reader = (async () => {
      for await (
        const e of log.read({ tail: -1, follow: true, signal: ac.signal })
      ) {
        got.push(e.message);
        if (got.length === 2) ac.abort();
      }
    })();
    await Promise.resolve();
    log.emit("sequence", { state: "stop", message: "boot done" });
    await reader;
    assertEquals(got, ["boot", "boot done"]);
  });
});
