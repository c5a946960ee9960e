/** `osctl memory` (`free`): every target node's memory, in MiB as talosctl prints it. */
import {
  MachineServiceService,
  type MemInfo,
  MemoryResponse,
} from "../../lib/api/gen/machine/machine.ts";
import type { Command, CommandContext } from "../command.ts";
import { UsageError } from "../command.ts";
import { parseCommandArgs } from "../client/args.ts";
import { formatTable, reportNodeErrors } from "../client/output.ts";
import { nodeOf, splitReplies } from "../client/reply.ts";
import { printStructured, withApiClient } from "../client/session.ts";

const USAGE = `Usage: osctl memory [-v]
       osctl free

Shows the memory of every target node in MiB: total, used (total less free,
cache and buffers), free, shared, buffers, cache and available.

Flags:
  -v, --verbose   every field the node reports, in kB, as /proc/meminfo`;

/** One table row (MiB) from a node's meminfo (kB). */
export function memoryRow(node: string, m: MemInfo): string[] {
  const mib = (kb: number) => String(Math.floor(kb / 1024));
  const used = Math.max(0, m.memtotal - m.memfree - m.cached - m.buffers);
  return [
    node,
    mib(m.memtotal),
    mib(used),
    mib(m.memfree),
    mib(m.shmem),
    mib(m.buffers),
    mib(m.cached),
    mib(m.memavailable),
  ];
}

function verbose(node: string, m: MemInfo): string {
  return [
    `NODE: ${node}`,
    `MemTotal: ${m.memtotal} kB`,
    `MemFree: ${m.memfree} kB`,
    `MemAvailable: ${m.memavailable} kB`,
    `Buffers: ${m.buffers} kB`,
    `Cached: ${m.cached} kB`,
    `Shmem: ${m.shmem} kB`,
  ].join("\n") + "\n";
}

async function run(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    verbose: { type: "boolean", short: "v", default: false },
  });
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"`);
  }
  return await withApiClient(ctx, async (api) => {
    const reply = await api.unary(MachineServiceService.memory, {
      metadata: undefined,
    }, { signal: ctx.signal });
    const { good, errors } = splitReplies(reply.messages, api.defaultNode);
    if (!printStructured(ctx, MemoryResponse, reply)) {
      const rows = good.filter((m) => m.meminfo).map((m) => ({
        node: nodeOf(m, api.defaultNode),
        info: m.meminfo!,
      }));
      if (values.verbose) {
        ctx.io.stdout(rows.map((r) => verbose(r.node, r.info)).join("\n"));
      } else {
        ctx.io.stdout(formatTable(
          [
            "NODE",
            "TOTAL",
            "USED",
            "FREE",
            "SHARED",
            "BUFFERS",
            "CACHE",
            "AVAILABLE",
          ],
          rows.map((r) => memoryRow(r.node, r.info)),
        ));
      }
    }
    return reportNodeErrors(ctx.io, errors);
  });
}

/** The memory command (alias: free). */
export const memoryCommand: Command = {
  name: "memory",
  aliases: ["free"],
  summary: "Show memory usage",
  usage: USAGE,
  run,
};
