/**
 * apid benchmark: unary Version latency through apid (local node, fan-out
 * to 1, 3, 10 and 25 nodes) beside a direct call to one node; throughput at
 * 1, 10 and 50 calls in flight; and the time to a merged answer with one
 * black-holed node (apid frozen with SIGSTOP) among 10. Default: a control
 * plane and 25 workers.
 *
 * Nodes are real apid processes, each with its own real nats-server; the
 * machined side of each node is a stand-in answering on that node's bus
 * (tests/apid_harness.ts), so the figures are apid's and the bus's own.
 *
 *   deno run -A bench/apid_bench.ts [--nodes 26] [--samples 200]
 *
 * Loopback only; every process is stopped at the end.
 * @module
 */
import { parseArgs } from "node:util";
import { VersionResponse } from "../lib/api/gen/machine/machine.ts";
import type { RawChannel } from "../lib/grpc/mod.ts";
import {
  makePki,
  randomLoopbackPrefix,
  startNodes,
  type TestNode,
} from "../tests/apid_harness.ts";

const VERSION = "/machine.MachineService/Version";
const EMPTY = new Uint8Array(0);

const { values } = parseArgs({
  args: Deno.args,
  options: {
    nodes: { type: "string", default: "26" },
    samples: { type: "string", default: "200" },
  },
});
const NODES = Math.max(10, Math.min(64, Number(values.nodes)));
const SAMPLES = Math.max(20, Math.min(5000, Number(values.samples)));

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

function fmt(ms: number): string {
  return ms < 10 ? ms.toFixed(2) : ms.toFixed(1);
}

async function latency(
  label: string,
  ch: RawChannel,
  metadata: Record<string, string | string[]>,
  expect: number,
): Promise<void> {
  for (let i = 0; i < 10; i++) await ch.unary(VERSION, EMPTY, { metadata });
  const times: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const t0 = performance.now();
    const reply = await ch.unary(VERSION, EMPTY, {
      metadata,
      timeoutMs: 10000,
    });
    times.push(performance.now() - t0);
    if (i === 0) {
      const m = VersionResponse.decode(reply).messages;
      const bad = m.filter((x) => x.metadata?.error);
      if (m.length !== expect || bad.length > 0) {
        throw new Error(
          `${label}: ${m.length} entries, ${bad.length} errors (${
            bad[0]?.metadata?.error ?? ""
          })`,
        );
      }
    }
  }
  times.sort((a, b) => a - b);
  console.log(
    `  ${label.padEnd(34)} p50 ${fmt(pct(times, 0.5)).padStart(6)} ms   p99 ${
      fmt(pct(times, 0.99)).padStart(6)
    } ms`,
  );
}

async function throughput(
  label: string,
  ch: RawChannel,
  inFlight: number,
  durationMs: number,
): Promise<void> {
  let done = 0;
  let failed = 0;
  const end = performance.now() + durationMs;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < end) {
        try {
          await ch.unary(VERSION, EMPTY, { timeoutMs: 10000 });
          done++;
        } catch {
          failed++;
        }
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  console.log(
    `  ${label.padEnd(34)} ${(done / secs).toFixed(0).padStart(6)} calls/s` +
      (failed ? `   (${failed} failed)` : ""),
  );
}

const pki = await makePki();
const prefix = randomLoopbackPrefix();
const dir = await Deno.makeTempDir({ prefix: "bronze-apid-bench-" });
try {
  console.log(`starting ${NODES} nodes on ${prefix}.0/24 ...`);
  const started = performance.now();
  // A few at a time: 2 cores.
  await using cluster = await startNodes(pki, {
    dir,
    count: NODES,
    batch: 5,
    prefix,
  });
  const { nodes } = cluster;
  console.log(
    `  started in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  const admin = await pki.client(["os:admin"]);
  const dial = (n: TestNode) => cluster.dial(n, { pair: admin });
  const cp = dial(nodes[0]);
  const direct = dial(nodes[1]);
  const workers = nodes.slice(1).map((n) => n.address);

  console.log(`\nunary Version latency (${SAMPLES} sequential calls each)`);
  await latency("direct to one node's apid", direct, {}, 1);
  await latency("through apid, local node", cp, {}, 1);
  await latency("through CP, node = 1 worker", cp, { node: workers[0] }, 1);
  for (const k of [1, 3, 10, 25]) {
    if (k > workers.length) break;
    await latency(
      `through CP, nodes = ${k} worker${k > 1 ? "s" : ""}`,
      cp,
      { nodes: workers.slice(0, k) },
      k,
    );
  }

  console.log("\nthroughput of Version through apid (local node, 3 s each)");
  for (const inFlight of [1, 10, 50]) {
    await throughput(`${inFlight} in flight`, cp, inFlight, 3000);
  }
  console.log("\nthroughput of Version through apid (nodes = 3 workers, 3 s)");
  const fan3 = dial(nodes[0]);
  for (const inFlight of [10]) {
    let done = 0;
    const end = performance.now() + 3000;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (performance.now() < end) {
          await fan3.unary(VERSION, EMPTY, {
            metadata: { nodes: workers.slice(0, 3) },
          });
          done++;
        }
      }),
    );
    const secs = (performance.now() - t0) / 1000;
    console.log(
      `  ${`${inFlight} in flight`.padEnd(34)} ${
        (done / secs).toFixed(0).padStart(6)
      } merged answers/s`,
    );
  }

  console.log(
    "\none black-holed node among 10 (apid SIGSTOPped; leg deadline 5 s)",
  );
  const ten = workers.slice(0, 10);
  const frozen = nodes[5];
  frozen.signalApid("SIGSTOP");
  try {
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      const reply = VersionResponse.decode(
        await cp.unary(VERSION, EMPTY, {
          metadata: { nodes: ten },
          timeoutMs: 30000,
        }),
      );
      const ms = performance.now() - t0;
      const errors = reply.messages.filter((m) => m.metadata?.error);
      console.log(
        `  run ${i + 1}: merged answer in ${(ms / 1000).toFixed(2)} s, ${
          reply.messages.length - errors.length
        } answers + ${errors.length} error (${errors[0]?.metadata?.hostname})`,
      );
    }
  } finally {
    frozen.signalApid("SIGCONT");
  }
} finally {
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}
