/** `osctl dmesg [-f] [--tail N]`: the kernel log of every target node. */
import {
  DmesgRequest,
  MachineServiceService,
} from "../../lib/api/gen/machine/machine.ts";
import type { Command, CommandContext } from "../command.ts";
import { UsageError } from "../command.ts";
import { parseCommandArgs, parseIntFlag } from "../client/args.ts";
import { streamLines } from "../client/stream_lines.ts";

const USAGE = `Usage: osctl dmesg [-f] [--tail N]

Prints the kernel message buffer. With several nodes every line starts with
"<node>: ".

Flags:
  -f, --follow     keep printing new messages until interrupted
      --tail N     messages of history to print first (-1: all, the default)`;

async function run(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    follow: { type: "boolean", short: "f", default: false },
    tail: { type: "string" },
  });
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"`);
  }
  const request = DmesgRequest.fromPartial({
    follow: values.follow,
    tailLines: parseIntFlag(values.tail, "--tail", -1),
  });
  return await streamLines(ctx, MachineServiceService.dmesg, request);
}

/** The dmesg command. */
export const dmesgCommand: Command = {
  name: "dmesg",
  summary: "Print the kernel log",
  usage: USAGE,
  run,
};
