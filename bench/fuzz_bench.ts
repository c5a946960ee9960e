/**
 * The API fuzz of tests/fuzz_api_test.ts, longer: a 2-node process-mode
 * cluster on 127.20.2.0/24, every method with --cases payloads on the
 * control plane and --forwarded-cases forwarded to the worker and fanned
 * out to both, then the
 * pids and RSS of every process before and after. Prints each rule-breaking
 * case with what reproduces it; exits 1 when there is one.
 *
 *     deno run -A bench/fuzz_bench.ts [--cases 500] [--forwarded-cases 100]
 *         [--seed N]   (or BRONZE_FUZZ_SEED=N)
 * @module
 */
import { parseArgs } from "node:util";
import { MachineServiceService } from "../lib/api/gen/machine/machine.ts";
import { readProcessMemory } from "../lib/procfs/mod.ts";
import { FUZZ_SEED_ENV, fuzzSeed } from "../lib/testing/mod.ts";
import { dialApid } from "../tests/apid_harness.ts";
import { startTestCluster } from "../tests/cluster_harness.ts";
import {
  dialOwnConnection,
  formatFailures,
  fuzzMethods,
} from "../tests/fuzz_api.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    cases: { type: "string", default: "500" },
    "forwarded-cases": { type: "string", default: "100" },
    seed: { type: "string" },
  },
});
function count(flag: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 1_000_000) {
    throw new Error(
      `Cannot use --${flag} ${
        JSON.stringify(text)
      }: want an integer from 1 to 1000000`,
    );
  }
  return n;
}
const cases = count("cases", values.cases);
const forwardedCases = count("forwarded-cases", values["forwarded-cases"]);
if (values.seed !== undefined) Deno.env.set(FUZZ_SEED_ENV, values.seed);
const seed = fuzzSeed();
console.log(
  `fuzz seed ${seed} (--seed ${seed} or ${FUZZ_SEED_ENV}=${seed} reproduces this run)`,
);

await using cluster = await startTestCluster({
  cidr: "127.20.2.0/24",
  nodes: 2,
  name: "fuzzbench",
});
const [cp, worker] = cluster.addresses;
using admin = await cluster.client({ nodes: cluster.addresses });
async function pids(): Promise<Map<string, number>> {
  const reply = await admin.unary(MachineServiceService.serviceList, {
    metadata: undefined,
  }, {
    timeoutMs: 10_000,
  });
  const out = new Map<string, number>();
  for (const n of cluster.record.nodes) out.set(`${n.address} machined`, n.pid);
  for (const m of reply.messages) {
    for (const s of m.services) {
      if (s.pid > 0) out.set(`${m.metadata?.hostname} ${s.id}`, s.pid);
    }
  }
  return out;
}
const before = await pids();
const rss = new Map<string, number>();
for (const [k, pid] of before) rss.set(k, (await readProcessMemory(pid)).rss);

const pair = await cluster.ca.issueKeyPair({
  commonName: "fuzz-admin",
  organizations: ["os:admin"],
  usages: ["clientAuth"],
  ttlMs: 3600_000,
});
const api = dialApid(cp, { caPem: cluster.ca.crtPem, pair });
const streamApi = dialOwnConnection(cp, { caPem: cluster.ca.crtPem, pair });
let failed = 0;
try {
  for (
    const [label, run] of [
      ["control plane", { seed, cases }],
      ["forwarded to the worker", {
        seed: seed ^ 0x5eed,
        cases: forwardedCases,
        metadata: { node: worker },
      }],
      ["fanned out to both", {
        seed: seed ^ 0xfa17,
        cases: forwardedCases,
        metadata: { nodes: `${cp},${worker}` },
      }],
    ] as const
  ) {
    const report = await fuzzMethods(api, { ...run, streamApi });
    console.log(
      `${label}: ${report.calls} calls in ${(report.ms / 1000).toFixed(1)} s (${
        (report.calls / (report.ms / 1000)).toFixed(0)
      }/s), ${report.answered} answered, refused ${
        JSON.stringify(report.refused)
      }, ${report.transportCancels} stray HTTP/2 cancels retried, ${report.skipped} decodable mutating cases not sent, ${report.failures.length} broke the rule`,
    );
    if (report.failures.length > 0) {
      console.log(formatFailures(run.seed, report.failures));
    }
    failed += report.failures.length;
  }
} finally {
  api.close();
  streamApi.close();
}
const after = await pids();
const mib = (n: number) => (n / 1048576).toFixed(1);
for (const [k, pid] of before) {
  const now = after.get(k);
  const mem = now === undefined
    ? undefined
    : (await readProcessMemory(now)).rss;
  console.log(
    `${k.padEnd(22)} pid ${pid}${
      now === pid ? "" : ` -> ${now ?? "gone"} (RESTARTED)`
    } RSS ${mib(rss.get(k)!)} -> ${mem === undefined ? "?" : mib(mem)} MiB`,
  );
  if (now !== pid) failed++;
}
if (failed > 0) Deno.exitCode = 1;
