/**
 * Builds the Bronze image: `deno run -A image/build.ts [--out image/build]`
 * (or `deno task image`). Prints the artifacts and their sizes.
 * @module
 */

import { parseArgs } from "node:util";
import {
  buildImage,
  type InitramfsCompression,
} from "./pipeline/build_image.ts";
import { formatSizes } from "./sizes.ts";
import { createLogger, errorText } from "../lib/log/mod.ts";

const USAGE = `usage: deno run -A image/build.ts [options]
  --out DIR              output folder (default image/build)
  --cache DIR            kernel package cache (default image/cache)
  --daemons a,b          daemons to bundle (default: every services/<d>/main.ts)
  --squashfs-level N     zstd level of the root squashfs (default 19)
  --initramfs-compression zstd|lz4  (default zstd; lz4 is 11 MB bigger, boots no faster)
  --initramfs-level N    compression level of the initramfs (default 9)
  --disk-size MiB        disk image size, 0 for none (default 2048)`;

const repoRoot = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const log = createLogger("image-build");

function intFlag(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) {
    throw new Error(
      `--${name} must be a whole number, got ${JSON.stringify(v)}`,
    );
  }
  return n;
}

try {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      out: { type: "string", default: `${repoRoot}/image/build` },
      cache: { type: "string", default: `${repoRoot}/image/cache` },
      daemons: { type: "string" },
      "squashfs-level": { type: "string" },
      "initramfs-level": { type: "string" },
      "initramfs-compression": { type: "string", default: "zstd" },
      "disk-size": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  const diskMiB = intFlag(values["disk-size"], "disk-size");
  const image = await buildImage({
    outDir: values.out,
    cacheDir: values.cache,
    repoRoot,
    daemons: values.daemons?.split(",").filter((d) => d !== ""),
    squashfsLevel: intFlag(values["squashfs-level"], "squashfs-level"),
    initramfsLevel: intFlag(values["initramfs-level"], "initramfs-level"),
    initramfsCompression:
      values["initramfs-compression"] as InitramfsCompression,
    diskSize: diskMiB === undefined ? undefined : diskMiB * 1024 * 1024,
    log: (msg, fields) => log.info(msg, fields),
  });
  console.log(formatSizes(image.manifest));
  console.log(`\nboot it: deno run -A image/run.ts --out ${image.outDir}`);
} catch (err) {
  log.error("image build failed", { error: errorText(err) });
  console.error(`image build failed: ${errorText(err)}`);
  Deno.exit(1);
}
