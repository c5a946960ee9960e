import { assertEquals } from "../../../lib/testing/mod.ts";
import { serviceInfo } from "./services_api.ts";

Deno.test("serviceInfo() says how often a counted failure happened", () => {
  const info = serviceInfo({
    id: "apid",
    state: "Running",
    health: { unknown: false, healthy: true, lastMessage: "", lastChange: 0 },
    pid: 7,
    dependsOn: [],
    events: [
      { ts: 0, state: "Running", message: "Started process (PID 7)" },
      {
        ts: 1000,
        state: "Running",
        message: "Health check failed: bus down",
        count: 3,
      },
    ],
  });
  assertEquals(info.events.map((e) => e.msg), [
    "Started process (PID 7)",
    "Health check failed: bus down (3 times)",
  ]);
  assertEquals(info.events[1].ts, "1970-01-01T00:00:01.000Z");
});
