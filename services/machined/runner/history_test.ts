import { assertEquals, assertThrows } from "../../../lib/testing/mod.ts";
import { MAX_SERVICE_EVENTS, ServiceHistory } from "./history.ts";

Deno.test("ServiceHistory keeps the last 64 events", async (t) => {
  await t.step("caps at 64, oldest dropped", () => {
    const h = new ServiceHistory();
    for (let i = 0; i < 100; i++) {
      h.push({ ts: i, state: "Running", message: `m${i}` });
    }
    const list = h.list();
    assertEquals(MAX_SERVICE_EVENTS, 64);
    assertEquals(list.length, 64);
    assertEquals(list[0].message, "m36");
    assertEquals(h.last()?.message, "m99");
  });
  await t.step("list() is a copy", () => {
    const h = new ServiceHistory(2);
    h.push({ ts: 1, state: "Starting", message: "a" });
    h.list().pop();
    assertEquals(h.list().length, 1);
  });
  await t.step("rejects a zero bound", () => {
    assertThrows(() => new ServiceHistory(0));
  });
});
