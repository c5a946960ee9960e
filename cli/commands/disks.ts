/** `osctl disks`: the block devices of every target node. */
import {
  type Disk,
  DisksResponse,
  MachineServiceService,
} from "../../lib/api/gen/machine/machine.ts";
import type { Command, CommandContext } from "../command.ts";
import { UsageError } from "../command.ts";
import { parseCommandArgs } from "../client/args.ts";
import { formatTable, reportNodeErrors } from "../client/output.ts";
import { nodeOf, splitReplies } from "../client/reply.ts";
import { printStructured, withApiClient } from "../client/session.ts";
import { humanBytes } from "../client/units.ts";

const USAGE = `Usage: osctl disks

Lists the block devices of every target node (from /sys/block): device
path, model, serial, type, size, read-only (*) and rotational (*).`;

const HEADER = [
  "NODE",
  "DEV",
  "MODEL",
  "SERIAL",
  "TYPE",
  "SIZE",
  "READ_ONLY",
  "ROTATIONAL",
];

/** One row of the disks table ("-" for what the node does not know). */
export function diskRow(node: string, d: Disk): string[] {
  const or = (s: string) => s || "-";
  return [
    node,
    or(d.devPath || (d.name ? `/dev/${d.name}` : "")),
    or(d.model),
    or(d.serial),
    or(d.type),
    humanBytes(d.size),
    d.readonly ? "*" : "",
    d.rotational ? "*" : "",
  ];
}

async function run(args: string[], ctx: CommandContext): Promise<number> {
  const { positionals } = parseCommandArgs(args, {});
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"`);
  }
  return await withApiClient(ctx, async (api) => {
    const reply = await api.unary(MachineServiceService.disks, {
      metadata: undefined,
    }, { signal: ctx.signal });
    const { good, errors } = splitReplies(reply.messages, api.defaultNode);
    if (!printStructured(ctx, DisksResponse, reply)) {
      ctx.io.stdout(formatTable(
        HEADER,
        good.flatMap((m) =>
          m.disks.map((d) => diskRow(nodeOf(m, api.defaultNode), d))
        ),
      ));
    }
    return reportNodeErrors(ctx.io, errors);
  });
}

/** The disks command. */
export const disksCommand: Command = {
  name: "disks",
  summary: "List the block devices of nodes",
  usage: USAGE,
  run,
};
