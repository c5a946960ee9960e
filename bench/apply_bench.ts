/**
 * apply-config no-reboot to reconciled: a new hostname applied through the
 * API (ApplyConfiguration, mode no_reboot) until the node answers Hostname
 * with it, p50/p99 over the applies. A real one-node process-mode cluster
 * (tests/cluster_harness.ts) on 127.17.9.0/24.
 *
 *   deno run -A bench/apply_bench.ts [--applies 50]
 *
 * Loopback only; the cluster is destroyed at the end.
 * @module
 */
import { parseArgs } from "node:util";
import { MachineServiceService } from "../lib/api/gen/machine/machine.ts";
import {
  parseMachineConfig,
  stringifyMachineConfig,
} from "../lib/config/mod.ts";
import { startTestCluster } from "../tests/cluster_harness.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { applies: { type: "string", default: "50" } },
});
const APPLIES = Math.max(5, Math.min(1000, Number(values.applies)));

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

await using cluster = await startTestCluster({
  nodes: 1,
  cidr: "127.17.9.0/24",
  name: "applybench",
});
using api = await cluster.client();
const got = await api.unary(MachineServiceService.getMachineConfig, {
  metadata: undefined,
}, {});
const config = parseMachineConfig(got.messages[0].data);
const times: number[] = [];
for (let i = 0; i < APPLIES; i++) {
  const hostname = `bench-${i}`;
  config.machine.network = { ...config.machine.network, hostname };
  const t0 = performance.now();
  await api.unary(MachineServiceService.applyConfiguration, {
    data: new TextEncoder().encode(stringifyMachineConfig(config)),
    mode: "no_reboot",
    dryRun: false,
    tryModeTimeoutMs: 0,
    force: false,
    rollback: 0,
  }, { timeoutMs: 30_000 });
  for (;;) {
    const h = await api.unary(MachineServiceService.hostname, {
      metadata: undefined,
    }, { timeoutMs: 10_000 });
    if (h.messages[0].hostname === hostname) break;
  }
  times.push(performance.now() - t0);
}
times.sort((a, b) => a - b);
console.log(
  `apply-config no-reboot to reconciled (hostname answered), ${APPLIES} applies: p50 ${
    pct(times, 0.5).toFixed(1)
  } ms, p99 ${pct(times, 0.99).toFixed(1)} ms, max ${
    times.at(-1)!.toFixed(1)
  } ms`,
);
