/**
 * Idle memory of a node: RSS, PSS and private dirty memory of machined,
 * nats-server and each daemon (from /proc/PID/smaps_rollup), and of the
 * whole node (PSS adds up; RSS counts shared pages once per process).
 * Boots a real control-plane node on 127.5.200.3 and lets it idle first.
 *
 *     deno run -A bench/memory_bench.ts [--idle-seconds 10]
 * @module
 */
import { parseArgs } from "node:util";
import { type ProcessMemory, readProcessMemory } from "../lib/procfs/mod.ts";
import { startTestNode } from "../tests/machined_harness.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { "idle-seconds": { type: "string", default: "10" } },
});
const IDLE_MS = Number(values["idle-seconds"]) * 1000;

await using node = await startTestNode({ address: "127.5.200.3" });
await new Promise((r) => setTimeout(r, IDLE_MS));
const services = await node.services();
const mib = (n: number) => (n / 1048576).toFixed(1).padStart(8);
console.log(
  `idle node after ${
    IDLE_MS / 1000
  } s (control plane: machined, nats, udevd, networkd, trustd, apid)`,
);
console.log(
  `${"service".padEnd(10)} ${"pid".padStart(7)} ${"RSS MiB".padStart(8)} ${
    "PSS MiB".padStart(8)
  } ${"dirty MiB".padStart(9)}`,
);
const total: ProcessMemory = { rss: 0, pss: 0, privateDirty: 0 };
for (const s of services) {
  if (!s.pid) continue;
  const m = await readProcessMemory(s.pid);
  total.rss += m.rss;
  total.pss += m.pss;
  total.privateDirty += m.privateDirty;
  console.log(
    `${s.id.padEnd(10)} ${String(s.pid).padStart(7)} ${mib(m.rss)} ${
      mib(m.pss)
    } ${mib(m.privateDirty).padStart(9)}`,
  );
}
console.log(
  `${"node".padEnd(10)} ${"".padStart(7)} ${mib(total.rss)} ${mib(total.pss)} ${
    mib(total.privateDirty).padStart(9)
  }`,
);
