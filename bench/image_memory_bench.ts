/**
 * Memory of a Bronze node in QEMU: `deno run -A bench/image_memory_bench.ts
 * [--runs 3] [--idle-seconds 60] [--kernel-args "..."]`. Boots a configured node (cached build of
 * the current sources) `--runs` times; each time lets it idle, then reads
 * through the API (mTLS): Memory (guest MemTotal - MemAvailable, and Shmem:
 * the initramfs and tmpfs files held in RAM) and Processes (RSS and PSS of
 * machined, nats-server and each daemon from smaps_rollup). Prints each
 * run's table and the medians: a boot's figures vary by a few MiB (what the
 * processes share depends on timing). Goal (issue 5): all OS daemons
 * together under 150 MB PSS, stretch 100 MB.
 * @module
 */
import { parseArgs } from "node:util";
import { cachedBuild, repoRootOf } from "../image/cached_build.ts";
import { chooseAccel } from "../image/qemu.ts";
import { MachineServiceService } from "../lib/api/gen/machine/machine.ts";
import { bootNode, splitKernelArgs } from "./_image_node.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    "idle-seconds": { type: "string", default: "60" },
    "kernel-args": { type: "string", default: "" },
    runs: { type: "string", default: "3" },
  },
  strict: true,
});
const idleMs = Number(values["idle-seconds"]) * 1000;
if (!Number.isFinite(idleMs) || idleMs < 0 || idleMs > 600_000) {
  throw new Error("--idle-seconds must be 0..600");
}
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1 || runs > 20) {
  throw new Error(`--runs must be 1..20, got ${JSON.stringify(values.runs)}`);
}

const repoRoot = repoRootOf(import.meta.url, 1);
const image = await cachedBuild({ repoRoot, log: (m) => console.error(m) });
const accel = await chooseAccel(image.boot.kernel);

interface Sample {
  /** PSS and RSS per service, bytes. */
  services: Map<string, { pss: number; rss: number }>;
  /** Guest MemTotal - MemAvailable, Shmem, Cached (KiB). */
  used: number;
  shmem: number;
  memTotal: number;
}

const mib = (bytes: number) => (bytes / 1048576).toFixed(1).padStart(8);

async function measure(): Promise<Sample> {
  await using node = await bootNode(image, {
    accel,
    kernelArgs: splitKernelArgs(values["kernel-args"]),
  });
  await node.vm.console.waitFor(/machined: ready:/, { timeoutMs: 300_000 });
  await new Promise((r) => setTimeout(r, idleMs));
  const mem = (await node.client.unary(
    MachineServiceService.memory,
    { metadata: undefined },
    { timeoutMs: 30_000 },
  )).messages[0].meminfo!;
  const procs = (await node.client.unary(
    MachineServiceService.processes,
    { metadata: undefined },
    { timeoutMs: 30_000 },
  )).messages[0].processes;
  const services = new Map<string, { pss: number; rss: number }>();
  for (const p of procs.filter((x) => x.service !== "")) {
    services.set(p.service, {
      pss: p.proportionalMemory,
      rss: p.residentMemory,
    });
  }
  const others = procs.filter((x) => x.service === "" && x.residentMemory > 0);
  if (others.length > 0) {
    console.error(
      `other user processes: ${
        others.map((p) => `${p.command} (${p.pid})`).join(", ")
      }`,
    );
  }
  await node.client.unary(
    MachineServiceService.shutdown,
    { force: false },
    { timeoutMs: 20_000 },
  );
  await node.vm.shutdown({ timeoutMs: 60_000 });
  return {
    services,
    used: mem.memtotal - mem.memavailable,
    shmem: mem.shmem,
    memTotal: mem.memtotal,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2
    ? s[(s.length - 1) / 2]
    : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const samples: Sample[] = [];
for (let i = 0; i < runs; i++) {
  const s = await measure();
  samples.push(s);
  let pss = 0;
  for (const v of s.services.values()) pss += v.pss;
  console.error(
    `run ${i + 1}: ${
      [...s.services].map(([k, v]) => `${k} ${(v.pss / 1048576).toFixed(1)}`)
        .join(", ")
    }; all ${(pss / 1048576).toFixed(1)} MiB PSS`,
  );
}

console.log(
  `node in QEMU (${accel}, 1 GiB), after ${
    idleMs / 1000
  } s idle, median of ${runs} boots, image ${image.outDir}`,
);
console.log(
  `${"service".padEnd(10)} ${"RSS MiB".padStart(8)} ${"PSS MiB".padStart(8)}`,
);
const ids = [...new Set(samples.flatMap((s) => [...s.services.keys()]))];
for (const id of ids) {
  const rss = median(samples.map((s) => s.services.get(id)?.rss ?? 0));
  const pss = median(samples.map((s) => s.services.get(id)?.pss ?? 0));
  console.log(`${id.padEnd(10)} ${mib(rss)} ${mib(pss)}`);
}
const total = (s: Sample, k: "pss" | "rss") =>
  [...s.services.values()].reduce((n, v) => n + v[k], 0);
console.log(
  `${"all OS".padEnd(10)} ${mib(median(samples.map((s) => total(s, "rss"))))} ${
    mib(median(samples.map((s) => total(s, "pss"))))
  }  (median of the runs' totals; PSS adds up; goal < 150 MB = 143.1 MiB, stretch 100 MB)`,
);
const kib = (k: number) => (k / 1024).toFixed(0);
console.log(
  `\nguest memory (median): MemTotal ${
    kib(median(samples.map((s) => s.memTotal)))
  } MiB, used (MemTotal - MemAvailable) ${
    kib(median(samples.map((s) => s.used)))
  } MiB, Shmem (initramfs + tmpfs) ${
    kib(median(samples.map((s) => s.shmem)))
  } MiB`,
);
