/**
 * `osctl events [--tail N | --since ID | --duration D] [--actor-id ID]`:
 * runtime events of every target node, as they happen.
 */
import {
  Event,
  EventsRequest,
  MachineServiceService,
} from "../../lib/api/gen/machine/machine.ts";
import type { Command, CommandContext } from "../command.ts";
import { UsageError } from "../command.ts";
import {
  parseCommandArgs,
  parseDurationSeconds,
  parseIntFlag,
} from "../client/args.ts";
import { EventFilter } from "../client/event_filter.ts";
import { forEachNodeMessage } from "../client/merged_stream.ts";
import { reportNodeErrors } from "../client/output.ts";
import { printStructuredLine, withApiClient } from "../client/session.ts";

const USAGE =
  `Usage: osctl events [--tail N | --since ID | --duration D] [--actor-id ID]

Streams runtime events (service state changes, boot steps) from every
target node until interrupted.

Flags:
      --tail N        past events to print first (-1: all; default none)
      --since ID      past events after the event with this ID first
      --duration D    past events of the last D first (e.g. 30s, 5m)
      --actor-id ID   only the events of one action (the ACTOR ID that reboot
                      or shutdown printed): its sequence from
                      start to stop, past and new`;

const HEADER = ["NODE", "ID", "TYPE", "SERVICE", "STATE", "MESSAGE"];

function row(cells: string[], widths: number[]): string {
  return cells.map((c, i) =>
    i === cells.length - 1 ? c : c.padEnd(Math.max(widths[i], c.length) + 3)
  ).join("").trimEnd() + "\n";
}

async function run(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    tail: { type: "string" },
    since: { type: "string" },
    duration: { type: "string" },
    "actor-id": { type: "string" },
  });
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"`);
  }
  const starts = (["tail", "since", "duration"] as const).filter((f) =>
    values[f] !== undefined
  );
  if (starts.length > 1) {
    throw new UsageError(
      `give one of --tail, --since and --duration, not ${
        starts.map((f) => `--${f}`).join(" and ")
      }`,
    );
  }
  for (const f of ["since", "actor-id"] as const) {
    if (values[f] === "") throw new UsageError(`--${f} needs an ID`);
  }
  const notBefore = values.duration === undefined
    ? undefined
    : Date.now() - parseDurationSeconds(values.duration, "--duration") * 1000;
  const filter = new EventFilter({
    since: values.since,
    notBefore,
    actorId: values["actor-id"],
  });
  // The server sends all or the last N: the rest is chosen here.
  const everything = values.since !== undefined || notBefore !== undefined ||
    (values["actor-id"] !== undefined && values.tail === undefined);
  const request = EventsRequest.fromPartial({
    tailEvents: everything ? -1 : parseIntFlag(values.tail, "--tail", 0),
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
        if (!filter.accept(node, e)) return;
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
