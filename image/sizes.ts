/**
 * The sizes report of a build: each artifact, the compressed total
 * (kernel + initramfs, which holds the root squashfs) against the goal, and
 * the uncompressed forms QEMU boots (the guest then decompresses nothing).
 * @module
 */

import type { BuildManifest } from "./pipeline/build_image.ts";

/** The goal for the whole compressed image (kernel + initramfs), in bytes. */
export const SIZE_GOAL = 80 * 1000 * 1000;

function mb(n: number): string {
  return `${(n / 1e6).toFixed(1)} MB`;
}

/** A plain-text table of the build's sizes. */
export function formatSizes(m: BuildManifest): string {
  const rows: Array<[string, string]> = [
    ["kernel (vmlinuz)", mb(m.sizes.kernel)],
    ["root squashfs", mb(m.sizes.squashfs)],
    ["initramfs (runtime + init + squashfs)", mb(m.sizes.initramfs)],
    [
      "total compressed (kernel + initramfs)",
      `${mb(m.sizes.total)} (goal < ${mb(SIZE_GOAL)})`,
    ],
    ["QEMU boots: vmlinux (uncompressed kernel)", mb(m.sizes.bootKernel)],
    ["QEMU boots: initramfs.cpio (uncompressed)", mb(m.sizes.bootInitramfs)],
  ];
  const runtime = m.initramfs.filter((e) =>
    e.path === "/usr/bin/deno" ||
    e.path.startsWith("/usr/lib/x86_64-linux-gnu/")
  ).reduce((n, e) => n + (e.size ?? 0), 0);
  rows.push(["Deno + glibc in initramfs (uncompressed)", mb(runtime)]);
  for (
    const e of m.rootfs.filter((x) => x.path.startsWith("/usr/lib/bronze/"))
  ) {
    rows.push([
      `bundle ${e.path.slice("/usr/lib/bronze/".length)}`,
      mb(e.size ?? 0),
    ]);
  }
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join("\n");
}
