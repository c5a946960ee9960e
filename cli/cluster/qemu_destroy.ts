/**
 * Stopping a QEMU cluster's VMs: an ACPI power-off first (machined shuts the
 * node down cleanly on the power button), then SIGTERM, then SIGKILL.
 * @module
 */
import { join } from "node:path";
import { qmpCommand } from "../../image/qemu.ts";
import { isAlive, isNodeAlive } from "./processes.ts";
import type { ClusterRecord } from "./state.ts";

/** Options for {@linkcode stopQemuCluster}. */
export interface StopQemuOptions {
  /** How long the guests get to power off by themselves (ms, default 60 s). */
  graceMs?: number;
}

async function waitForExit(pids: number[], ms: number): Promise<number[]> {
  const deadline = Date.now() + ms;
  let alive = pids;
  for (;;) {
    const still: number[] = [];
    for (const p of alive) if (await isAlive(p)) still.push(p);
    alive = still;
    if (alive.length === 0 || Date.now() >= deadline) return alive;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Stops every VM of the cluster; returns the pids that had to be killed.
 * Throws when a QEMU survives SIGKILL.
 */
export async function stopQemuCluster(
  record: ClusterRecord,
  options: StopQemuOptions = {},
): Promise<number[]> {
  const pids: number[] = [];
  for (const n of record.nodes) if (await isNodeAlive(n)) pids.push(n.pid);
  if (pids.length === 0) return [];
  const grace = options.graceMs ?? 60_000;
  if (grace > 0) {
    for (const n of record.nodes) {
      await qmpCommand(join(n.stateDir, "qmp.sock"), "system_powerdown")
        .catch(() => {}); // gone already, or no QMP: the signals follow
    }
  }
  let left = await waitForExit(pids, grace);
  for (const p of left) {
    try {
      Deno.kill(p, "SIGTERM");
    } catch {
      // exited meanwhile
    }
  }
  left = await waitForExit(left, 10_000);
  const killed = [...left];
  for (const p of left) {
    try {
      Deno.kill(p, "SIGKILL");
    } catch {
      // exited meanwhile
    }
  }
  left = await waitForExit(left, 10_000);
  if (left.length > 0) {
    throw new Error(
      `Cannot stop cluster "${record.name}": QEMU still running: ${
        left.join(", ")
      }`,
    );
  }
  return killed;
}
