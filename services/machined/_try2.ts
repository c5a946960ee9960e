import { startTestNode } from "./test_harness.ts";
import { streamTyped } from "../../lib/bus/mod.ts";
import { LogsRequest } from "../../lib/api/gen/machine/machine.ts";
import { Data } from "../../lib/api/gen/common/common.ts";
import { streamSubject } from "../../lib/constants/mod.ts";
await using node = await startTestNode({
  address: "127.5.100.251",
  waitUp: false,
});
await new Promise((r) => setTimeout(r, 8000));
const bus = await node.bus();
for (const id of (Deno.args.length ? Deno.args : ["apid"])) {
  for await (
    const d of streamTyped(bus, streamSubject("machined", "Logs"), {
      req: LogsRequest,
      res: Data,
    }, { id, follow: false, tailLines: 20 })
  ) {
    console.log(new TextDecoder().decode(d.bytes));
  }
}
for (const s of await node.services()) {
  console.log(s.id, s.state, s.pid, s.health?.healthy, s.health?.lastMessage);
}
