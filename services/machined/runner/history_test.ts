import {
  assert,
  assertEquals,
  assertThrows,
} from "../../../lib/testing/mod.ts";
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
    assertThrows(
      () => new ServiceHistory(0),
      Error,
      "Cannot keep 0 service events",
    );
  });
});

Deno.test("ServiceHistory keeps a service's own state changes", async (t) => {
  await t.step("health flips do not push state changes out", () => {
    const h = new ServiceHistory();
    h.push({ ts: 1, state: "Starting", message: "Starting service" });
    h.push({ ts: 2, state: "Running", message: "Started process (PID 7)" });
    for (let i = 0; i < 200; i++) {
      h.pushHealth({
        ts: 10 + 2 * i,
        state: "Running",
        message: `Health check failed: bus down ${i}`,
      });
      h.pushHealth({
        ts: 11 + 2 * i,
        state: "Running",
        message: "Health check successful",
      });
    }
    const list = h.list();
    assert(list.length <= MAX_SERVICE_EVENTS);
    assertEquals(list[0].message, "Starting service");
    assertEquals(list[1].message, "Started process (PID 7)");
    assertEquals(h.last()?.message, "Health check successful");
    assertEquals(
      list.map((e) => e.ts),
      [...list.map((e) => e.ts)].sort((a, b) => a - b),
    );
  });
  await t.step("state changes still leave room for health", () => {
    const h = new ServiceHistory();
    h.pushHealth({
      ts: 0,
      state: "Running",
      message: "Health check failed: x",
    });
    for (let i = 1; i < 200; i++) {
      h.push({ ts: i, state: "Waiting", message: `Restarting ${i}` });
    }
    const list = h.list();
    assertEquals(list.length, MAX_SERVICE_EVENTS);
    assertEquals(list[0].message, "Health check failed: x");
    assertEquals(h.last()?.message, "Restarting 199");
  });
  await t.step("identical failures are counted, not repeated", () => {
    const h = new ServiceHistory();
    h.push({ ts: 1, state: "Running", message: "Started process (PID 7)" });
    for (let i = 0; i < 100; i++) {
      h.pushHealth({
        ts: 10 + 2 * i,
        state: "Running",
        message: "Health check failed: bus down",
      });
      h.pushHealth({
        ts: 11 + 2 * i,
        state: "Running",
        message: "Health check successful",
      });
    }
    const failures = h.list().filter((e) => e.message.includes("failed"));
    assertEquals(failures.length, 1);
    assertEquals(failures[0].count, 100);
    assertEquals(failures[0].ts, 208);
    assertEquals(h.list()[0].message, "Started process (PID 7)");
    assertEquals(h.list()[0].count, undefined);
  });
});
