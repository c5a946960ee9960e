import { Readiness } from "./readiness.ts";
import { assertEquals } from "../testing/mod.ts";

Deno.test("Readiness reports what a daemon waits for until it serves", async () => {
  const r = new Readiness("waiting for certificates in /run/certs");
  assertEquals(await r.check(), {
    healthy: false,
    message: "waiting for certificates in /run/certs",
  });
  r.ready();
  assertEquals(await r.check(), { healthy: true, message: "" });
  r.waitingFor("draining");
  assertEquals(r.isReady, false);
  assertEquals(await r.check(), { healthy: false, message: "draining" });
});

Deno.test("Readiness tells its listeners about each change, once", () => {
  const r = new Readiness();
  let told = 0;
  r.onChange(() => told++);
  r.ready();
  r.ready();
  assertEquals(told, 1, "ready twice is one change");
  r.waitingFor("reloading");
  r.waitingFor("still reloading");
  assertEquals(told, 2, "a new reason while waiting is no change");
});
