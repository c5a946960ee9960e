/**
 * apid under abuse: the time a victim's forwarded call takes while an
 * attacker holds its stream limit to the same worker (and asks for more),
 * and the control plane apid's RSS under N follow streams and after their
 * release, both local (served over its own bus) and forwarded to a worker.
 *
 * Nodes are real apid processes with real nats-servers; machined is the
 * stand-in of tests/apid_harness.ts.
 *
 *   deno run -A bench/apid_abuse_bench.ts [--streams 2000] [--samples 50]
 *
 * Loopback only (127.11.200.0/24); streams are bounded (at most 2000) and
 * every process is stopped at the end.
 * @module
 */
import { parseArgs } from "node:util";
import {
  LogsRequest,
  VersionResponse,
} from "../lib/api/gen/machine/machine.ts";
import type { RawChannel } from "../lib/grpc/mod.ts";
import type { PemKeyPair } from "../lib/pki/mod.ts";
import { tempDir, waitUntil } from "../lib/testing/mod.ts";
import {
  apidCrash,
  makePki,
  startNodes,
  type TestPki,
} from "../tests/apid_harness.ts";

const VERSION = "/machine.MachineService/Version";
const LOGS = "/machine.MachineService/Logs";
const EMPTY = new Uint8Array(0);
const FOLLOW = LogsRequest.encode({ id: "apid", follow: true, tailLines: 1 })
  .finish();
/** Streams per client connection (apid allows 128). */
const PER_CONNECTION = 100;

const { values } = parseArgs({
  args: Deno.args,
  options: {
    streams: { type: "string", default: "2000" },
    samples: { type: "string", default: "50" },
  },
});
const STREAMS = Math.max(100, Math.min(2000, Number(values.streams) || 2000));
const SAMPLES = Math.max(10, Math.min(500, Number(values.samples) || 50));

type Md = Record<string, string | string[]>;

function caller(pki: TestPki, name: string, role: string): Promise<PemKeyPair> {
  return pki.ca.issueKeyPair({
    commonName: name,
    organizations: [role],
    usages: ["clientAuth"],
    ttlMs: 3600_000,
  });
}

function rssMiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? "0");
  return kb / 1024;
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

let retries = 0;

/** Opens a follow stream and reads its first message; returns its cancel. */
async function follow(api: RawChannel, metadata: Md): Promise<() => void> {
  for (let attempt = 1;; attempt++) {
    try {
      return await followOnce(api, metadata);
    } catch (err) {
      // A new connection's first calls can fail while TLS is set up.
      if (attempt >= 3 || !/UNAVAILABLE|No connection/i.test(String(err))) {
        throw err;
      }
      retries++;
    }
  }
}

async function followOnce(
  api: RawChannel,
  metadata: Md,
): Promise<() => void> {
  const ac = new AbortController();
  const stream = await api.stream(LOGS, FOLLOW, {
    metadata,
    signal: ac.signal,
  });
  const it = stream[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done) throw new Error("the stream ended at once");
  // Keep reading so flow control never stalls the server side.
  (async () => {
    try {
      while (!(await it.next()).done) { /* drain */ }
    } catch { /* cancelled */ }
  })();
  return () => ac.abort();
}

async function victimTimes(api: RawChannel, metadata: Md) {
  const times: number[] = [];
  let failed = 0;
  for (let i = 0; i < SAMPLES; i++) {
    const t0 = performance.now();
    try {
      const r = VersionResponse.decode(
        await api.unary(VERSION, EMPTY, { metadata, timeoutMs: 5000 }),
      );
      if (r.messages.some((m) => m.metadata?.error)) failed++;
    } catch {
      failed++;
    }
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { p50: pct(times, 0.5), p99: pct(times, 0.99), failed };
}

async function main(): Promise<void> {
  await using dir = await tempDir();
  const pki = await makePki();
  const prefix = "127.11.200";
  console.log(`starting a control plane and a worker on ${prefix}.0/24 ...`);
  await using cluster = await startNodes(pki, {
    dir: dir.path,
    count: 2,
    prefix,
    // A line a second per followed log: the figures are about holding
    // streams, not about 40,000 lines a second.
    followIntervalMs: 1000,
  });
  const [cp, worker] = cluster.nodes;
  const victim = cluster.dial(cp, {
    pair: await caller(pki, "victim", "os:reader"),
  });
  for (let i = 0; i < 5; i++) {
    await victim.unary(VERSION, EMPTY, { metadata: { node: worker.address } });
  }

  console.log(`\nvictim's Version forwarded to the worker (${SAMPLES} calls)`);
  const row = (label: string, r: Awaited<ReturnType<typeof victimTimes>>) =>
    console.log(
      `  ${label.padEnd(52)} p50 ${r.p50.toFixed(2).padStart(7)} ms  p99 ${
        r.p99.toFixed(2).padStart(7)
      } ms  failed ${r.failed}`,
    );
  row(
    "no attacker (node=)",
    await victimTimes(victim, { node: worker.address }),
  );
  for (const role of ["os:reader", "os:admin"]) {
    const pair = await caller(pki, `attacker-${role}`, role);
    const conns = [cluster.dial(cp, { pair }), cluster.dial(cp, { pair })];
    const tries = await Promise.allSettled(
      Array.from(
        { length: 130 },
        (_, i) => follow(conns[i % 2], { node: worker.address }),
      ),
    );
    const held = tries.flatMap((r) =>
      r.status === "fulfilled" ? [r.value] : []
    );
    const label = `attacker (${role}) holds ${held.length} of 130 asked`;
    row(`${label}, node=`, await victimTimes(victim, { node: worker.address }));
    row(
      `${label}, nodes=`,
      await victimTimes(victim, { nodes: [worker.address] }),
    );
    const t0 = performance.now();
    const cancel = await follow(victim, { node: worker.address });
    console.log(
      `  victim's follow stream: first message after ${
        (performance.now() - t0).toFixed(1)
      } ms`,
    );
    cancel();
    for (const c of held) c();
    await waitUntil(() => worker.openLogStreams === 0, {
      timeoutMs: 20000,
      what: "the attacker's streams to end",
    });
  }

  console.log(`\ncontrol plane apid RSS (MiB) under follow streams`);
  const measure = async (
    label: string,
    metadata: Md,
    node: typeof cp,
    count: number,
  ) => {
    const base = rssMiB(cp.apidPid);
    const callers = await Promise.all(
      Array.from(
        { length: Math.ceil(count / 50) },
        (_, i) => caller(pki, `crowd-${i}`, "os:admin"),
      ),
    );
    const conns: RawChannel[] = [];
    const cancels: (() => void)[] = [];
    const t0 = performance.now();
    for (let i = 0; i < count; i += PER_CONNECTION) {
      // 50 per caller: under the admin limit of 64 forwarded streams.
      const batch = Math.min(PER_CONNECTION, count - i);
      const a = cluster.dial(cp, { pair: callers[Math.floor(i / 50)] });
      const b = cluster.dial(cp, {
        pair: callers[Math.floor(i / 50) + 1] ?? callers[0],
      });
      conns.push(a, b);
      cancels.push(
        ...await Promise.all(
          Array.from(
            { length: batch },
            (_, k) => follow(k < 50 ? a : b, metadata),
          ),
        ),
      );
    }
    const opened = performance.now() - t0;
    await waitUntil(() => node.openLogStreams >= count, {
      timeoutMs: 30000,
      what: `${count} streams served`,
    });
    const under = rssMiB(cp.apidPid);
    for (const c of cancels) c();
    await waitUntil(() => node.openLogStreams === 0, {
      timeoutMs: 30000,
      what: "every stream to end",
    });
    for (const ch of conns) ch.close();
    const released = rssMiB(cp.apidPid);
    console.log(
      `  ${label.padEnd(34)} before ${base.toFixed(1)}  under ${count}: ${
        under.toFixed(1)
      }  after release: ${released.toFixed(1)}  (opened in ${
        (opened / 1000).toFixed(1)
      } s)`,
    );
  };
  // Twice each: a leak grows every round, a heap that keeps its pages does not.
  for (let round = 1; round <= 2; round++) {
    await measure(`local (own bus), round ${round}`, {}, cp, STREAMS);
  }
  for (let round = 1; round <= 2; round++) {
    // Forwarding carries at most 32 connections x 50 streams to one node.
    await measure(
      `forwarded (node=), round ${round}`,
      {
        node: worker.address,
      },
      worker,
      Math.min(STREAMS, 1500),
    );
  }
  const ok = await victimTimes(victim, { node: worker.address });
  row("victim afterwards (node=)", ok);
  console.log(`\nstream opens retried: ${retries}`);
  for (const n of cluster.nodes) {
    const crash = apidCrash(n);
    if (crash) console.log(`apid on ${n.hostname} crashed: ${crash}`);
  }
}

await main();
