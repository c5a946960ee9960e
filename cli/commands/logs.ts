/** `osctl logs ID [-f] [--tail N]`: a service's logs from every target node. */
import {
  LogsRequest,
  MachineServiceService,
} from "../../lib/api/gen/machine/machine.ts";
import type { Command, CommandContext } from "../command.ts";
import { UsageError } from "../command.ts";
import { parseCommandArgs, parseIntFlag } from "../client/args.ts";
import { streamLines } from "../client/stream_lines.ts";
import { withValidIds } from "../client/service_ids.ts";

const USAGE = `Usage: osctl logs ID [-f] [--tail N]

Prints a service's captured output. With several nodes every line starts
with "<node>: ".

Flags:
  -f, --follow     keep printing new lines until interrupted
      --tail N     lines of history to print first (-1: all, the default)`;

async function run(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    follow: { type: "boolean", short: "f", default: false },
    tail: { type: "string" },
  });
  if (positionals.length !== 1) {
    throw new UsageError("logs takes one service ID");
  }
  const request = LogsRequest.fromPartial({
    id: positionals[0],
    follow: values.follow,
    tailLines: parseIntFlag(values.tail, "--tail", -1),
  });
  return await streamLines(
    ctx,
    MachineServiceService.logs,
    request,
    (api, errors) => withValidIds(api, errors, ctx),
  );
}

/** The logs command. */
export const logsCommand: Command = {
  name: "logs",
  summary: "Print a service's logs",
  usage: USAGE,
  run,
};
