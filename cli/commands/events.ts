/** `osctl events [--tail N]`: runtime events of every target node, as they happen. */
import {
  Event,
  EventsRequest,
  MachineServiceService,
} from "../../lib/api/gen/machine/machine.ts";
import { ApiError } from "../../lib/bus/mod.ts";
import type { Command, CommandContext } from "../command.ts";
import { UsageError } from "../command.ts";
import { parseCommandArgs, parseIntFlag } from "../client/args.ts";
import { type NodeError, reportNodeErrors } from "../client/output.ts";
import { nodeOf } from "../client/reply.ts";
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
    const errors: NodeError[] = [];
    try {
      for await (
        const e of api.stream(MachineServiceService.events, request, {
          signal: ctx.signal,
        })
      ) {
        const node = nodeOf(e, api.defaultNode);
        if (e.metadata?.error) {
          errors.push({ node, error: e.metadata.error });
          continue;
        }
        if (printStructuredLine(ctx, Event, e)) continue;
        ctx.io.stdout(
          row([node, e.id, e.type, e.service, e.state, e.message], widths),
        );
      }
    } catch (err) {
      if (!(ctx.signal.aborted && err instanceof ApiError)) throw err;
    }
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
