/** `osctl events [--tail N]`: runtime events of every target node, as they happen. */
import {
  Event,
  EventsRequest,
  MachineServiceService,
} from "../../lib/api/gen/machine/machine.ts";
import type { Command, CommandContext } from "../command.ts";
import { UsageError } from "../command.ts";
import { parseCommandArgs, parseIntFlag } from "../client/args.ts";
import { forEachNodeMessage } from "../client/merged_stream.ts";
import { reportNodeErrors } from "../client/output.ts";
import { printStructuredLine, withApiClient } from "../client/session.ts";

const USAGE = `Usage: osctl events [--tail N]

Streams runtime events (service state changes, boot steps) from every
target node until interrupted.

Flags:
      --tail N    past events to print first (-1: all; default none)`;

const HEADER = ["NODE", "ID", "TYPE", "SERVICE", "STATE", "MESSAGE"];

function row(cells: string[], widths: number[]): string {
  return cells.map((c, i) =>
    i === cells.length - 1 ? c : c.padEnd(Math.max(widths[i], c.length) + 3)
  ).join("").trimEnd() + "\n";
}

async function run(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    tail: { type: "string" },
  });
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"`);
  }
  const request = EventsRequest.fromPartial({
    tailEvents: parseIntFlag(values.tail, "--tail", 0),
    follow: true,
  });
  return await withApiClient(ctx, async (api) => {
    const nodeWidth = Math.max(
      4,
      ...[...api.nodes, api.defaultNode].map((n) => n.length),
    );
    const widths = [nodeWidth, 12, 8, 9, 10];
    const table = ctx.globals.output === "table";
    if (table) ctx.io.stdout(row(HEADER, widths));
    const errors = await forEachNodeMessage(
      ctx,
      api,
      api.stream(MachineServiceService.events, request, {
        signal: ctx.signal,
      }),
      (node, e) => {
        if (printStructuredLine(ctx, Event, e)) return;
        ctx.io.stdout(
          row([node, e.id, e.type, e.service, e.state, e.message], widths),
        );
      },
    );
    return reportNodeErrors(ctx.io, errors);
  });
}

/** The events command. */
export const eventsCommand: Command = {
  name: "events",
  summary: "Stream runtime events",
  usage: USAGE,
  run,
};
