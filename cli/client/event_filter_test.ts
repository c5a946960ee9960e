import { Event } from "../../lib/api/gen/machine/machine.ts";
import { assertEquals } from "../../lib/testing/mod.ts";
import { EventFilter } from "./event_filter.ts";
import { backAfter, noteActors, type WaitTarget } from "./wait_nodes.ts";
import type { ApiClient } from "./api_client.ts";

const ev = (
  id: string,
  type: string,
  state: string,
  message: string,
  ts = "2026-12-04T04:00:00.000Z",
) => Event.fromPartial({ id, type, state, message, ts });

const HISTORY = [
  ev(
    "b1-1",
    "sequence",
    "stop",
    "boot: All services are up",
    "2026-12-04T04:00:00.000Z",
  ),
  ev(
    "b1-2",
    "service",
    "Running",
    "Health check successful",
    "2026-12-04T04:00:10.000Z",
  ),
  ev(
    "b1-3",
    "sequence",
    "start",
    "reboot: Rebooting in place (actor A1)",
    "2026-12-04T04:00:20.000Z",
  ),
  ev(
    "b1-4",
    "service",
    "Stopping",
    "Sending SIGTERM",
    "2026-12-04T04:00:21.000Z",
  ),
  ev(
    "b1-5",
    "sequence",
    "stop",
    "reboot: All services are up",
    "2026-12-04T04:00:25.000Z",
  ),
  ev(
    "b1-6",
    "service",
    "Running",
    "Health check successful",
    "2026-12-04T04:00:30.000Z",
  ),
];

function kept(filter: EventFilter, events = HISTORY): string[] {
  return events.filter((e) => filter.accept("n", e)).map((e) => e.id);
}

Deno.test("EventFilter keeps events after --since, also when the ID is gone", () => {
  assertEquals(kept(new EventFilter({ since: "b1-4" })), ["b1-5", "b1-6"]);
  assertEquals(kept(new EventFilter({ since: "b1-3" }), HISTORY.slice(4)), [
    "b1-5",
    "b1-6",
  ]);
  assertEquals(kept(new EventFilter({ since: "other-9" })), []);
  // Each node passes its own --since.
  const f = new EventFilter({ since: "b1-5" });
  assertEquals(HISTORY.map((e) => f.accept("a", e)).filter(Boolean).length, 1);
  assertEquals(HISTORY.map((e) => f.accept("b", e)).filter(Boolean).length, 1);
});

Deno.test("EventFilter keeps events within --duration", () => {
  assertEquals(
    kept(
      new EventFilter({ notBefore: Date.parse("2026-12-04T04:00:21.000Z") }),
    ),
    ["b1-4", "b1-5", "b1-6"],
  );
});

Deno.test("EventFilter keeps one action's sequence with --actor-id", () => {
  assertEquals(kept(new EventFilter({ actorId: "A1" })), [
    "b1-3",
    "b1-4",
    "b1-5",
  ]);
  assertEquals(kept(new EventFilter({ actorId: "A2" })), []);
});

Deno.test("backAfter() sees a reboot in place end, or a new boot reach its end", () => {
  assertEquals(
    backAfter(HISTORY.slice(0, 4), { actorId: "A1", bootBefore: "b1" }),
    undefined,
  );
  assertEquals(
    backAfter(HISTORY, { actorId: "A1", bootBefore: "b1" })?.id,
    "b1-5",
  );
  assertEquals(
    backAfter(HISTORY, { actorId: "other", bootBefore: "b1" }),
    undefined,
  );
  const rebooted = [
    ...HISTORY.slice(0, 3),
    ev("b2-1", "sequence", "start", "boot: Booting"),
  ];
  assertEquals(
    backAfter(rebooted, { actorId: "A1", bootBefore: "b1" }),
    undefined,
  );
  const up = [
    ...rebooted,
    ev("b2-2", "sequence", "stop", "boot: All services are up"),
  ];
  assertEquals(backAfter(up, { actorId: "A1", bootBefore: "b1" })?.id, "b2-2");
});

Deno.test("noteActors() matches answers to targets, a lone one by any name", () => {
  const target = (node: string): WaitTarget => ({
    node,
    client: {} as ApiClient,
  });
  const meta = (hostname: string, error = "") => ({ hostname, error });
  const one = [target("10.5.0.2")];
  noteActors(one, {
    messages: [{ metadata: meta("bronze-controlplane-1"), actorId: "A" }],
  }, "10.5.0.2");
  assertEquals(one[0].actorId, "A");
  const two = [target("10.5.0.2"), target("10.5.0.3")];
  noteActors(two, {
    messages: [
      { metadata: meta("10.5.0.3"), actorId: "B" },
      { metadata: meta("10.5.0.2", "refused"), actorId: "" },
    ],
  }, "10.5.0.2");
  assertEquals(two.map((t) => t.actorId), [undefined, "B"]);
});
