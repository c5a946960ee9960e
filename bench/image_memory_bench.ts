/**
 * Memory of a Bronze node in QEMU: `deno run -A bench/image_memory_bench.ts
 * [--idle-seconds 20]`. Boots a configured node (cached build of the current
 * sources), lets it idle, then reads through the API (mTLS): Memory (guest
 * MemTotal - MemAvailable, and Shmem: the initramfs and tmpfs files held in
 * RAM) and Processes (RSS and PSS of machined, nats-server and each daemon
 * from smaps_rollup). Goal (issue 5): all OS daemons together under 150 MB
 * PSS, stretch 100 MB.
 * @module
 */
import { parseArgs } from "node:util";
import { cachedBuild, repoRootOf } from "../image/cached_build.ts";
import { chooseAccel } from "../image/qemu.ts";
import { MachineServiceService } from "../lib/api/gen/machine/machine.ts";
import { bootNode } from "./_image_node.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { "idle-seconds": { type: "string", default: "20" } },
  strict: true,
});
const idleMs = Number(values["idle-seconds"]) * 1000;
if (!Number.isFinite(idleMs) || idleMs < 0 || idleMs > 600_000) {
  throw new Error("--idle-seconds must be 0..600");
}

const repoRoot = repoRootOf(import.meta.url, 1);
const image = await cachedBuild({ repoRoot, log: (m) => console.error(m) });
const accel = await chooseAccel(image.boot.kernel);
await using node = await bootNode(image, { accel });
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

const mib = (bytes: number) => (bytes / 1048576).toFixed(1).padStart(8);
console.log(
  `node in QEMU (${accel}, 1 GiB), after ${
    idleMs / 1000
  } s idle, image ${image.outDir}`,
);
console.log(
  `${"service".padEnd(10)} ${"pid".padStart(6)} ${"RSS MiB".padStart(8)} ${
    "PSS MiB".padStart(8)
  }  command`,
);
let pss = 0;
let rss = 0;
for (const p of procs.filter((x) => x.service !== "")) {
  pss += p.proportionalMemory;
  rss += p.residentMemory;
  console.log(
    `${p.service.padEnd(10)} ${String(p.pid).padStart(6)} ${
      mib(p.residentMemory)
    } ${mib(p.proportionalMemory)}  ${p.command}`,
  );
}
console.log(
  `${"all OS".padEnd(10)} ${"".padStart(6)} ${mib(rss)} ${
    mib(pss)
  }  (PSS adds up; goal < 150 MiB, stretch 100)`,
);
const others = procs.filter((x) => x.service === "" && x.residentMemory > 0);
if (others.length > 0) {
  console.log(
    `other user processes: ${
      others.map((p) => `${p.command} (${p.pid})`).join(", ")
    }`,
  );
}
const kib = (k: number) => (k / 1024).toFixed(0);
console.log(
  `\nguest memory: MemTotal ${
    kib(mem.memtotal)
  } MiB, used (MemTotal - MemAvailable) ${
    kib(mem.memtotal - mem.memavailable)
  } MiB, Shmem (initramfs + tmpfs) ${kib(mem.shmem)} MiB, Cached ${
    kib(mem.cached)
  } MiB`,
);
await node.client.unary(
  MachineServiceService.shutdown,
  { force: false },
  { timeoutMs: 20_000 },
);
await node.vm.shutdown({ timeoutMs: 60_000 });
