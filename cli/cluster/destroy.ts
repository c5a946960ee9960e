import { join } from "node:path";
import { isNodeAlive, processesOf } from "./processes.ts";
import type { ClusterRecord } from "./state.ts";

/** Options for {@linkcode stopClusterProcesses}. */
export interface StopOptions {
  /** How long machined may take to stop its services (ms, default 30 s). */
  graceMs?: number;
}

/**
 * Stops every process of a cluster: SIGTERM to each machined (it stops its
 * services in order), then SIGKILL to whatever of the cluster is left after
 * the grace period. Returns the pids that had to be killed.
 */
export async function stopClusterProcesses(
  record: ClusterRecord,
  dir: string,
  options: StopOptions = {},
): Promise<number[]> {
  for (const n of record.nodes) {
    // Never signal a pid some other program has reused since.
    if (await isNodeAlive(n)) {
      try {
        Deno.kill(n.pid, "SIGTERM");
      } catch {
        // exited meanwhile
      }
    }
  }
  const deadline = Date.now() + (options.graceMs ?? 30_000);
  while (Date.now() < deadline) {
    if ((await processesOf(dir)).length === 0) return [];
    await new Promise((r) => setTimeout(r, 200));
  }
  const killed: number[] = [];
  for (const p of await processesOf(dir)) {
    try {
      Deno.kill(p.pid, "SIGKILL");
      killed.push(p.pid);
    } catch {
      // exited meanwhile
    }
  }
  const end = Date.now() + 10_000;
  while (Date.now() < end && (await processesOf(dir)).length > 0) {
    await new Promise((r) => setTimeout(r, 100));
  }
  const left = await processesOf(dir);
  if (left.length > 0) {
    throw new Error(
      `Cannot stop cluster "${record.name}": processes still running: ${
        left.map((p) => p.pid).join(", ")
      }`,
    );
  }
  return killed;
}

/** The log file of a node. */
export function nodeLog(stateDir: string): string {
  return join(stateDir, "machined.log");
}
