import { TimeResponse } from "../../lib/api/gen/machine/machine.ts";
import { assert, assertEquals } from "../../lib/testing/mod.ts";
import { tagReply } from "./reply_merge.ts";
import { stampTimeReply, timedCall } from "./time_stamp.ts";

const local = new Date("2026-12-04T05:00:00.250Z");

function nodeReply(): Uint8Array {
  return TimeResponse.encode({
    messages: [{
      metadata: undefined,
      server: "",
      localtime: local,
      remotetime: undefined,
      roundTripUs: 0,
    }],
  }).finish();
}

Deno.test("stampTimeReply() sets server, remotetime and the round trip", () => {
  const stamped = stampTimeReply(nodeReply(), {
    server: "cp-1",
    remoteMs: Date.parse("2026-12-04T05:00:01.500Z"),
    roundTripUs: 840,
  });
  const [m] = TimeResponse.decode(stamped).messages;
  assertEquals(m.server, "cp-1");
  assertEquals(m.localtime, local);
  assertEquals(m.remotetime, new Date("2026-12-04T05:00:01.500Z"));
  assertEquals(m.roundTripUs, 840);
});

Deno.test("a second stamp replaces the first, whole seconds included", () => {
  const first = stampTimeReply(nodeReply(), {
    server: "worker-1",
    remoteMs: Date.parse("2026-12-04T05:00:07.999Z"),
    roundTripUs: 5,
  });
  // The outer apid's clock on a whole second: nanos 0 must not keep 999 ms.
  const second = stampTimeReply(first, {
    server: "cp-1",
    remoteMs: Date.parse("2026-12-04T05:00:03.000Z"),
    roundTripUs: 0,
  });
  const [m] = TimeResponse.decode(second).messages;
  assertEquals(m.server, "cp-1");
  assertEquals(m.remotetime, new Date("2026-12-04T05:00:03.000Z"));
  assertEquals(m.roundTripUs, 0);
  // Metadata tagging after the stamp keeps it.
  const [tagged] = tagReply(second, { hostname: "10.5.0.3" });
  const wrapped = TimeResponse.decode(
    new Uint8Array([0x0a, tagged.length, ...tagged]),
  ).messages[0];
  assertEquals(wrapped.metadata?.hostname, "10.5.0.3");
  assertEquals(wrapped.server, "cp-1");
});

Deno.test("timedCall() stamps the middle of the call with this clock", async () => {
  const before = Date.now();
  const stamped = await timedCall("cp-1", async () => {
    await new Promise((r) => setTimeout(r, 20));
    return nodeReply();
  });
  const after = Date.now();
  const [m] = TimeResponse.decode(stamped).messages;
  const remote = m.remotetime!.getTime();
  assert(remote >= before && remote <= after, `${before} ${remote} ${after}`);
  assert(m.roundTripUs >= 15_000, `${m.roundTripUs}`);
});
