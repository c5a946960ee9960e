/**
 * Bus request/reply latency and rate: machined's Version over the node's
 * NATS, beside a raw echo on the same nats-server through the same client
 * (the ratio is the figure). Boots a real node on 127.5.200.2.
 *
 *     deno run -A bench/bus_bench.ts [--calls 2000] [--seconds 3] [--inflight 32]
 * @module
 */
import { parseArgs } from "node:util";
import { Empty } from "../lib/api/gen/common/common.ts";
import { VersionResponse } from "../lib/api/gen/machine/machine.ts";
import { Bus } from "../lib/bus/mod.ts";
import { NATS_PORT, rpcSubject } from "../lib/constants/mod.ts";
import { readBusPassword, startTestNode } from "../tests/machined_harness.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    calls: { type: "string", default: "2000" },
    seconds: { type: "string", default: "3" },
    inflight: { type: "string", default: "32" },
  },
});
const CALLS = Number(values.calls);
const SECONDS = Number(values.seconds);
const INFLIGHT = Number(values.inflight);

interface Figures {
  p50: number;
  p99: number;
  mean: number;
  rate: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

async function measure(call: () => Promise<unknown>): Promise<Figures> {
  for (let i = 0; i < 200; i++) await call(); // warm up
  const lat: number[] = [];
  for (let i = 0; i < CALLS; i++) {
    const t0 = performance.now();
    await call();
    lat.push(performance.now() - t0);
  }
  lat.sort((a, b) => a - b);
  let done = 0;
  const end = performance.now() + SECONDS * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: INFLIGHT }, async () => {
      while (performance.now() < end) {
        await call();
        done++;
      }
    }),
  );
  return {
    p50: percentile(lat, 0.5),
    p99: percentile(lat, 0.99),
    mean: lat.reduce((a, b) => a + b, 0) / lat.length,
    rate: done / ((performance.now() - t0) / 1000),
  };
}

await using node = await startTestNode({ address: "127.5.200.2" });
const client = await node.bus();
// The echo server joins the same nats-server as a second "machined"
// connection (its password is in the node's owner-only nats.conf).
const echo = await Bus.connect({
  url: `nats://${node.address}:${NATS_PORT}`,
  user: "machined",
  pass: await readBusPassword(node.stateDir, "machined"),
});
const ECHO = rpcSubject("machined", "BenchEcho");
echo.serve(ECHO, (data) => Promise.resolve(data));

const versionReq = Empty.encode({ metadata: undefined }).finish();
const sample = VersionResponse.encode(
  VersionResponse.decode(
    await client.request(rpcSubject("machined", "Version"), versionReq),
  ),
).finish();
const echoPayload = new Uint8Array(sample.length);

try {
  const raw = await measure(() => client.request(ECHO, echoPayload));
  const version = await measure(async () =>
    VersionResponse.decode(
      await client.request(rpcSubject("machined", "Version"), versionReq),
    )
  );
  const row = (name: string, f: Figures) =>
    `${name.padEnd(26)} ${f.p50.toFixed(3).padStart(8)} ${
      f.p99.toFixed(3).padStart(8)
    } ${f.mean.toFixed(3).padStart(8)} ${f.rate.toFixed(0).padStart(10)}`;
  console.log(
    `bus request/reply, ${CALLS} sequential calls for latency, ${INFLIGHT} in flight for ${SECONDS} s for rate; reply ${sample.length} bytes`,
  );
  console.log(
    `${"".padEnd(26)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)} ${
      "mean ms".padStart(8)
    } ${"calls/s".padStart(10)}`,
  );
  console.log(row("raw echo (same server)", raw));
  console.log(row("machined Version", version));
  console.log(
    `ratio Version/echo: p50 x${(version.p50 / raw.p50).toFixed(2)}, p99 x${
      (version.p99 / raw.p99).toFixed(2)
    }, rate x${(version.rate / raw.rate).toFixed(2)}`,
  );
} finally {
  await echo.close();
}
