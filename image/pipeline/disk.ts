/**
 * The node's disk image: a GPT with the state partition (machine config,
 * node certificates; ext4 labelled BRONZE-STATE) and the ephemeral area
 * (ext4, BRONZE-EPHEMERAL, the rest of the disk). Sparse on the host.
 * @module
 */

import { run } from "./exec.ts";
import { gptBytes, type GptLayout, gptLayout } from "./gpt.ts";

/** Label of the state partition (GPT name and ext4 label). */
export const STATE_LABEL = "BRONZE-STATE";
/** Label of the ephemeral partition (GPT name and ext4 label). */
export const EPHEMERAL_LABEL = "BRONZE-EPHEMERAL";

/** Options for {@linkcode makeDisk}. */
export interface DiskOptions {
  /** Disk size in bytes (multiple of 1 MiB); default 2 GiB. */
  size?: number;
  /** State partition size in bytes; default 100 MiB. */
  stateSize?: number;
  /** Aborts mkfs. */
  signal?: AbortSignal;
}

const MiB = 1024 * 1024;

/** Writes a sparse disk image at `path` and formats its partitions. */
export async function makeDisk(
  path: string,
  options: DiskOptions = {},
): Promise<GptLayout> {
  const layout = await gptLayout(options.size ?? 2048 * MiB, [
    { label: STATE_LABEL, size: options.stateSize ?? 100 * MiB },
    { label: EPHEMERAL_LABEL, size: "rest" },
  ]);
  const { head, tail } = gptBytes(layout);
  await Deno.remove(path).catch(() => {});
  {
    using f = await Deno.open(path, { write: true, create: true });
    await f.truncate(layout.diskSize);
    await f.write(head);
    await f.seek(layout.diskSize - tail.length, Deno.SeekMode.Start);
    await f.write(tail);
  }
  for (const p of layout.partitions) {
    await run("mkfs.ext4", [
      "-q",
      "-F",
      "-L",
      p.label,
      "-U",
      p.guid.toLowerCase(),
      "-E",
      `offset=${p.offset},lazy_itable_init=1,lazy_journal_init=1,hash_seed=${p.guid.toLowerCase()}`,
      path,
      `${p.size / 1024}k`,
    ], { signal: options.signal });
  }
  return layout;
}
