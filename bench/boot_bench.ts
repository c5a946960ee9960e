/**
 * Boot time under QEMU TCG: `deno run -A bench/boot_bench.ts [--runs 3]
 * [--init probe] [--until REGEX] [--compression zstd|lz4]`. Boots the image (cached build of the
 * current inputs) several times and prints, as medians, the time from
 * QEMU's start to each boot milestone on the console, and where the time
 * goes: firmware and loading, kernel (with initramfs unpacking), Deno start
 * of the init, the init's work, Deno start of PID 1, PID 1's work.
 * With the probe as PID 1 it also prints the guest memory the OS uses
 * (MemTotal - MemAvailable). `--init machined --until 'apid.*listening'`
 * measures machined's image mode once it exists.
 * @module
 */

import { parseArgs } from "node:util";
import { cachedBuild, repoRootOf } from "../image/cached_build.ts";
import { composeCmdline } from "../image/layout.ts";
import { chooseAccel, startVm } from "../image/qemu.ts";
import type { ConsoleLine } from "../image/console_reader.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    runs: { type: "string", default: "3" },
    init: { type: "string", default: "probe" },
    until: { type: "string" },
    compression: { type: "string", default: "zstd" },
  },
  strict: true,
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1 || runs > 20) {
  throw new Error(`--runs must be 1..20, got ${JSON.stringify(values.runs)}`);
}
const until = new RegExp(
  values.until ??
    (values.init === "probe"
      ? "bronze-probe: result: "
      : "bronze-init: switched root"),
);

/** Milestones in boot order: name and console pattern. */
const MILESTONES: Array<[string, RegExp]> = [
  ["kernel: first line", /Linux version/],
  ["kernel: initramfs unpacked", /Freeing initrd memory/],
  ["kernel: runs the init", /Run \/usr\/bin\/deno as init process/],
  ["init: first line", /bronze-init: starting/],
  ["init: modules loaded", /bronze-init: loaded \d+ modules/],
  ["init: root mounted", /bronze-init: mounted /],
  ["init: exec PID 1", /bronze-init: switched root/],
  ["PID 1: first line", /bronze-(probe: pid|machined|.*machined)/],
  ["target", until],
];

interface Run {
  host: Map<string, number>;
  guest: Map<string, number>;
  exitMs: number;
  memUsedMiB?: number;
}

const repoRoot = repoRootOf(import.meta.url, 1);
if (values.compression !== "zstd" && values.compression !== "lz4") {
  throw new Error(
    `--compression must be zstd or lz4, got ${
      JSON.stringify(values.compression)
    }`,
  );
}
const image = await cachedBuild({
  repoRoot,
  initramfsCompression: values.compression,
  log: (m) => console.error(m),
});
const accel = await chooseAccel(image.kernel);

async function bootOnce(): Promise<Run> {
  const host = new Map<string, number>();
  const guest = new Map<string, number>();
  let mem: number | undefined;
  const onLine = (l: ConsoleLine) => {
    for (const [name, re] of MILESTONES) {
      if (!host.has(name) && re.test(l.text)) {
        host.set(name, l.hostMs / 1000);
        if (l.guestSeconds !== undefined) guest.set(name, l.guestSeconds);
      }
    }
    const m = /MemTotal: (\d+) kB; MemAvailable: (\d+) kB/.exec(l.text);
    if (m) mem = (Number(m[1]) - Number(m[2])) / 1024;
  };
  await using vm = await startVm({
    kernel: image.kernel,
    initramfs: image.initramfs,
    cmdline: composeCmdline(image.cmdline, [
      "panic=-1",
      `bronze.init=${values.init}`,
    ]),
    disk: image.disk,
    network: true,
    accel,
    onLine,
  });
  await vm.console.waitFor(until, { timeoutMs: 180_000 });
  const exit = await vm.shutdown({ timeoutMs: 20_000 });
  return { host, guest, exitMs: exit.afterMs, memUsedMiB: mem };
}

function median(xs: number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
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
  console.error(
    `run ${i + 1}: target at ${fmt(r.host.get("target"))} s, QEMU exit ${
      (r.exitMs / 1000).toFixed(2)
    } s`,
  );
}

console.log(
  `boot under QEMU (${accel}), ${runs} runs, image ${image.outDir} (initramfs ${image.manifest.initramfsCompression}), PID 1 = ${values.init}`,
);
console.log(
  `${"milestone".padEnd(28)} ${"host s".padStart(6)} ${
    "guest s".padStart(7)
  }   (median; host = since QEMU start)`,
);
for (const [name] of MILESTONES) {
  const h = median(
    results.flatMap((r) => r.host.has(name) ? [r.host.get(name)!] : []),
  );
  const g = median(
    results.flatMap((r) => r.guest.has(name) ? [r.guest.get(name)!] : []),
  );
  console.log(`${name.padEnd(28)} ${fmt(h)} ${fmt(g).padStart(7)}`);
}
const span = (a: string, b: string, clock: "host" | "guest") =>
  median(results.flatMap((r) => {
    const m = clock === "host" ? r.host : r.guest;
    return m.has(a) && m.has(b) ? [m.get(b)! - m.get(a)!] : [];
  }));
console.log("\nwhere the time goes (median seconds)");
const phases: Array<[string, number | undefined]> = [
  [
    "firmware + loading kernel/initrd (host)",
    median(results.flatMap((r) =>
      r.host.has("kernel: first line")
        ? [
          r.host.get("kernel: first line")! -
          (r.guest.get("kernel: first line") ?? 0),
        ]
        : []
    )),
  ],
  [
    "kernel boot incl. initramfs unpack (guest)",
    median(
      results.flatMap((r) =>
        r.guest.has("kernel: runs the init")
          ? [r.guest.get("kernel: runs the init")!]
          : []
      ),
    ),
  ],
  [
    "  of which initramfs unpacking ends at (guest)",
    median(
      results.flatMap((r) =>
        r.guest.has("kernel: initramfs unpacked")
          ? [r.guest.get("kernel: initramfs unpacked")!]
          : []
      ),
    ),
  ],
  [
    "Deno start of the init (guest)",
    span("kernel: runs the init", "init: first line", "guest"),
  ],
  [
    "init: modules, loop, mount, switch (guest)",
    span("init: first line", "init: exec PID 1", "guest"),
  ],
  [
    "Deno start of PID 1 (guest)",
    span("init: exec PID 1", "PID 1: first line", "guest"),
  ],
  ["PID 1 to target (guest)", span("PID 1: first line", "target", "guest")],
  [
    "QEMU start to target (host)",
    median(
      results.flatMap((r) =>
        r.host.has("target") ? [r.host.get("target")!] : []
      ),
    ),
  ],
  [
    "QEMU start to QEMU exit (host)",
    median(results.map((r) => r.exitMs / 1000)),
  ],
];
for (const [k, v] of phases) console.log(`${k.padEnd(46)} ${fmt(v)}`);
const mem = median(
  results.flatMap((r) => r.memUsedMiB === undefined ? [] : [r.memUsedMiB]),
);
if (mem !== undefined) {
  console.log(
    `\nguest memory used at the probe (MemTotal - MemAvailable): ${
      mem.toFixed(0)
    } MiB`,
  );
}
