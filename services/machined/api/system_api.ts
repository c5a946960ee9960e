/**
 * Processes, Memory and LoadAvg: read from /proc on every call.
 * @module
 */
import type { MethodHandlers } from "../../../lib/api/serve.ts";
import { ApiError } from "../../../lib/api_error/mod.ts";
import { readLoadavg, readMeminfo } from "../../../lib/procfs/mod.ts";
import { listProcessInfo } from "../processes.ts";
import type { ServiceSnapshot } from "../runner/service_runner.ts";
import { reply } from "./reply.ts";

/** Where the services' processes are found (to tag each process). */
export interface ServiceProcesses {
  /** Every service, machined included. */
  services(): ServiceSnapshot[];
}

/** The Processes, Memory and LoadAvg handlers. */
export function systemApi(
  node: ServiceProcesses,
): Pick<MethodHandlers<"machined">, "Processes" | "Memory" | "LoadAvg"> {
  return {
    Processes: async () => {
      const pids = new Map<number, string>();
      for (const s of node.services()) if (s.pid > 0) pids.set(s.pid, s.id);
      return reply({ processes: await listProcessInfo(pids) });
    },
    Memory: async () => {
      const m = await readMeminfo().catch((err) => {
        throw new ApiError("Unavailable", `cannot read /proc/meminfo: ${err}`);
      });
      // kB, as /proc and Talos report them.
      const kb = (n: number) => Math.round(n / 1024);
      return reply({
        meminfo: {
          memtotal: kb(m.memTotal),
          memfree: kb(m.memFree),
          memavailable: kb(m.memAvailable),
          buffers: kb(m.buffers),
          cached: kb(m.cached),
          shmem: kb(m.shmem),
        },
      });
    },
    LoadAvg: async () => {
      const l = await readLoadavg().catch((err) => {
        throw new ApiError("Unavailable", `cannot read /proc/loadavg: ${err}`);
      });
      return reply(l);
    },
  };
}
