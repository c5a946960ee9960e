import { createLogger } from "../../lib/log/mod.ts";
import {
  assertEquals,
  assertRejects,
  startNats,
  waitUntil,
} from "../../lib/testing/mod.ts";
import { BusLink } from "./bus_link.ts";

Deno.test("BusLink connects once nats is up and reports nats-server's health", async (t) => {
  await using nats = await startNats("127.13.0.2");
  const creds = nats.creds("machined");
  let natsUp = false;
  let wake: (() => void) | undefined;
  const connected: string[] = [];
  const link = new BusLink({
    url: creds.url,
    password: creds.pass,
    log: createLogger("machined", { sink: { write: () => {} } }),
    onConnected: (bus) => connected.push(bus.name),
  });
  const ac = new AbortController();
  try {
    await t.step("no connection yet: health is for the port check", () => {
      assertEquals(link.health(), undefined);
    });

    await t.step("dials only once nats is up", async () => {
      const connecting = link.connect({
        isUp: (id) => id === "nats" && natsUp,
        waitForChange: () => new Promise<void>((r) => (wake = r)),
      }, ac.signal);
      await Promise.resolve();
      assertEquals(connected, []);
      natsUp = true;
      wake?.();
      await connecting;
      assertEquals(connected, ["machined"]);
      await link.health();
    });

    await t.step("a dropped connection is a failed health check", async () => {
      await nats.kill();
      await waitUntil(() =>
        link.health()?.then(() => false, (err: Error) => err.message)
      );
      await assertRejects(
        () => link.health()!,
        Error,
        "machined's bus connection is down",
      );
      await nats.restart();
      await waitUntil(() => link.health()?.then(() => true, () => false));
    });

    await t.step("closed: no connection again", async () => {
      await link.close();
      assertEquals(link.health(), undefined);
    });
  } finally {
    ac.abort();
    await link.close();
  }
});
