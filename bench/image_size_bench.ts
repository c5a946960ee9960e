/**
 * Image sizes: `deno run -A bench/image_size_bench.ts`. Builds the image (or
 * reuses the cached build of the same inputs) and prints the compressed
 * artifacts against the 80 MB goal, then what the bytes are made of.
 * @module
 */

import { cachedBuild, repoRootOf } from "../image/cached_build.ts";
import { formatSizes } from "../image/sizes.ts";
import type { ManifestEntry } from "../image/pipeline/tree.ts";

const repoRoot = repoRootOf(import.meta.url, 1);
const image = await cachedBuild({
  repoRoot,
  log: (msg, f) => console.error(msg, JSON.stringify(f ?? {})),
});

function sum(entries: ManifestEntry[], pred: (p: string) => boolean): number {
  return entries.filter((e) => e.type === "file" && pred(e.path))
    .reduce((n, e) => n + (e.size ?? 0), 0);
}
const mb = (n: number) => `${(n / 1e6).toFixed(2)} MB`;
const m = image.manifest;

console.log("== compressed artifacts");
console.log(formatSizes(m));
console.log("\n== uncompressed contents");
const rows: Array<[string, number]> = [
  ["initramfs: deno", sum(m.initramfs, (p) => p === "/usr/bin/deno")],
  [
    "initramfs: glibc + loader",
    sum(m.initramfs, (p) => p.startsWith("/usr/lib/x86_64-linux-gnu/")),
  ],
  [
    "initramfs: init.js + init.json",
    sum(m.initramfs, (p) => p === "/init.js" || p === "/init.json"),
  ],
  ["initramfs: boot modules", sum(m.initramfs, (p) => p.includes("/modules/"))],
  [
    "initramfs: rootfs.sqsh (compressed)",
    sum(m.initramfs, (p) => p === "/rootfs.sqsh"),
  ],
  ["root: bundles", sum(m.rootfs, (p) => p.startsWith("/usr/lib/bronze/"))],
  ["root: nats-server", sum(m.rootfs, (p) => p === "/usr/sbin/nats-server")],
  ["root: kernel modules", sum(m.rootfs, (p) => p.includes("/modules/"))],
  ["root: everything", sum(m.rootfs, () => true)],
];
const w = Math.max(...rows.map(([k]) => k.length));
for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${mb(v)}`);
console.log(
  `\nmodules: boot ${m.modules.boot.length}, image ${m.modules.image.length}, built in: ${
    m.modules.builtin.join(", ") || "-"
  }`,
);
console.log(
  `kernel: ${m.kernel.package}=${m.kernel.version}; ${m.deno}; daemons: ${
    m.daemons.join(", ")
  }`,
);
