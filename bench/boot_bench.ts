/**
 * Boot time under QEMU TCG, to a working API:
 * `deno run -A bench/boot_bench.ts [--runs 3] [--compression zstd|lz4]
 * [--kernel-args "quiet ..."]`.
 * Boots the image (cached build of the current sources) with a config on
 * fw_cfg, polls Version over mTLS from the moment QEMU starts, and prints,
 * as medians of the runs: QEMU start to Version answered; where the time
 * goes (firmware, kernel, the initramfs init, machined's start and early
 * work, the services) from console lines stamped with guest uptime; and
 * each service's start and health from machined's own event timestamps
 * (Events API). Goal (issue 5): under 15 s.
 * @module
 */

import { parseArgs } from "node:util";
import { cachedBuild, repoRootOf } from "../image/cached_build.ts";
import { chooseAccel } from "../image/qemu.ts";
import type { ConsoleLine } from "../image/console_reader.ts";
import { MachineServiceService } from "../lib/api/gen/machine/machine.ts";
import { bootNode, splitKernelArgs } from "./_image_node.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    runs: { type: "string", default: "3" },
    compression: { type: "string", default: "zstd" },
    "kernel-args": { type: "string", default: "" },
  },
  strict: true,
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1 || runs > 20) {
  throw new Error(`--runs must be 1..20, got ${JSON.stringify(values.runs)}`);
}
if (values.compression !== "zstd" && values.compression !== "lz4") {
  throw new Error(
    `--compression must be zstd or lz4, got ${
      JSON.stringify(values.compression)
    }`,
  );
}

/** Console milestones in boot order. */
const MILESTONES: Array<[string, RegExp]> = [
  ["kernel: first line", /Linux version/],
  ["kernel: initramfs unpacked", /Freeing initrd memory/],
  ["kernel: runs the init", /Run \/usr\/bin\/deno as init process/],
  ["init: first line", /bronze-init: starting/],
  ["init: hands PID 1 to machined", /bronze-init: switched root/],
  ["machined: first line", /machined: starting in image mode/],
  ["init: early modules preloaded", /bronze-init: preloaded/],
  ["machined: config found", /machined: machine config from/],
  ["machined: services start", /machined: boot: start:/],
  ["machined: all services up", /machined: boot: stop: All services are up/],
];

interface Run {
  host: Map<string, number>;
  guest: Map<string, number>;
  apiMs: number;
  services: Map<string, { started: number; healthy: number }>;
}

const repoRoot = repoRootOf(import.meta.url, 1);
const image = await cachedBuild({
  repoRoot,
  initramfsCompression: values.compression,
  log: (m) => console.error(m),
});
const accel = await chooseAccel(image.boot.kernel);

async function bootOnce(): Promise<Run> {
  const host = new Map<string, number>();
  const guest = new Map<string, number>();
  const onLine = (l: ConsoleLine) => {
    for (const [name, re] of MILESTONES) {
      if (!host.has(name) && re.test(l.text)) {
        host.set(name, l.hostMs / 1000);
        if (l.guestSeconds !== undefined) guest.set(name, l.guestSeconds);
      }
    }
  };
  const t0 = performance.now();
  await using node = await bootNode(image, {
    accel,
    onLine,
    kernelArgs: splitKernelArgs(values["kernel-args"]),
  });
  const deadline = t0 + 300_000;
  let apiMs = 0;
  while (performance.now() < deadline) {
    // Each attempt dials anew: a channel that failed while the node booted
    // waits out grpc-js's reconnect backoff (seconds) before dialling again.
    using probe = node.newClient();
    try {
      await probe.unary(
        MachineServiceService.version,
        { metadata: undefined },
        { timeoutMs: 2000 },
      );
      apiMs = performance.now() - t0;
      break;
    } catch {
      if (node.vm.exit) throw new Error("QEMU exited before the API answered");
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  if (!apiMs) throw new Error("the API did not answer within 300 s");
  // Service start and health times from machined's events (guest clock).
  const services = new Map<string, { started: number; healthy: number }>();
  let bootStart = 0;
  for await (
    const e of node.client.stream(
      MachineServiceService.events,
      { follow: false, tailEvents: -1 },
      {},
    )
  ) {
    const ts = Date.parse(e.ts);
    if (e.type === "sequence" && /^boot: Booting/.test(e.message)) {
      bootStart = ts;
    }
    if (e.type !== "service") continue;
    const s = services.get(e.service) ?? { started: NaN, healthy: NaN };
    if (Number.isNaN(s.started) && /^Started process/.test(e.message)) {
      s.started = ts;
    }
    if (Number.isNaN(s.healthy) && /Health check successful/.test(e.message)) {
      s.healthy = ts;
    }
    services.set(e.service, s);
  }
  for (const s of services.values()) {
    s.started = (s.started - bootStart) / 1000;
    s.healthy = (s.healthy - bootStart) / 1000;
  }
  await node.client.unary(
    MachineServiceService.shutdown,
    { force: false },
    { timeoutMs: 20_000 },
  );
  await node.vm.shutdown({ timeoutMs: 60_000 });
  return { host, guest, apiMs, services };
}

function median(xs: number[]): number | undefined {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return undefined;
  return s.length % 2
    ? s[(s.length - 1) / 2]
    : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
const fmt = (x: number | undefined) =>
  x === undefined ? "     -" : x.toFixed(2).padStart(6);

const results: Run[] = [];
for (let i = 0; i < runs; i++) {
  const r = await bootOnce();
  results.push(r);
  console.error(`run ${i + 1}: Version answered ${fmt(r.apiMs / 1000)} s`);
}

const med = (f: (r: Run) => number | undefined) =>
  median(results.flatMap((r) => {
    const v = f(r);
    return v === undefined ? [] : [v];
  }));
const span = (a: string, b: string) =>
  med((r) =>
    r.guest.has(a) && r.guest.has(b)
      ? r.guest.get(b)! - r.guest.get(a)!
      : undefined
  );

console.log(
  `boot to API under QEMU (${accel}), ${runs} runs, image ${image.outDir} (initramfs ${image.manifest.initramfsCompression})`,
);
console.log(
  `QEMU start -> Version answered over mTLS: ${
    fmt(med((r) => r.apiMs / 1000))
  } s (median; goal < 15 s)`,
);
console.log(
  `\n${"milestone".padEnd(30)} ${"host s".padStart(6)} ${
    "guest s".padStart(7)
  }   (median; host = since QEMU start, guest = uptime)`,
);
for (const [name] of MILESTONES) {
  console.log(
    `${name.padEnd(30)} ${fmt(med((r) => r.host.get(name)))} ${
      fmt(med((r) => r.guest.get(name))).padStart(7)
    }`,
  );
}
console.log("\nwhere the time goes (median seconds)");
const phases: Array<[string, number | undefined]> = [
  [
    "firmware + loading kernel and initramfs (host)",
    med((r) =>
      r.host.has("kernel: first line")
        ? r.host.get("kernel: first line")! -
          (r.guest.get("kernel: first line") ?? 0)
        : undefined
    ),
  ],
  [
    "kernel incl. initramfs unpacking (guest)",
    med((r) => r.guest.get("kernel: runs the init")),
  ],
  [
    "initramfs init (Deno start + mounts)",
    span("kernel: runs the init", "init: hands PID 1 to machined"),
  ],
  [
    "machined's bundle load (same process)",
    span("init: hands PID 1 to machined", "machined: first line"),
  ],
  [
    "machined: modules, partitions, config",
    span("machined: first line", "machined: services start"),
  ],
  [
    "services: start to all up",
    span("machined: services start", "machined: all services up"),
  ],
  [
    "all up -> Version answered (host)",
    med((r) =>
      r.host.has("machined: all services up")
        ? r.apiMs / 1000 - r.host.get("machined: all services up")!
        : undefined
    ),
  ],
];
for (const [k, v] of phases) console.log(`${k.padEnd(46)} ${fmt(v)}`);

console.log(
  "\nservices, from machined's events (median s after the boot sequence started)",
);
console.log(
  `${"service".padEnd(10)} ${"started".padStart(8)} ${"healthy".padStart(8)} ${
    "took".padStart(6)
  }`,
);
const ids = [...new Set(results.flatMap((r) => [...r.services.keys()]))];
for (const id of ids) {
  const st = med((r) => r.services.get(id)?.started);
  const he = med((r) => r.services.get(id)?.healthy);
  const took = med((r) => {
    const s = r.services.get(id);
    return s ? s.healthy - s.started : undefined;
  });
  console.log(
    `${id.padEnd(10)} ${fmt(st).padStart(8)} ${fmt(he).padStart(8)} ${
      fmt(took)
    }`,
  );
}
