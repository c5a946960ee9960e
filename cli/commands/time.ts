/**
 * `osctl time`: every target node's clock against the reference, the apid
 * the client asked (a control plane, which forwards to the others).
 * @module
 */
import {
  MachineServiceService,
  type Time,
  TimeResponse,
} from "../../lib/api/gen/machine/machine.ts";
import type { Command, CommandContext } from "../command.ts";
import { UsageError } from "../command.ts";
import { parseCommandArgs } from "../client/args.ts";
import { formatTable, reportNodeErrors } from "../client/output.ts";
import { nodeOf, splitReplies } from "../client/reply.ts";
import { printStructured, withApiClient } from "../client/session.ts";

const USAGE = `Usage: osctl time

Shows the clock of every target node against the reference: the endpoint's
apid (a control plane), which stamps its own clock at the middle of its round
trip to each node. OFFSET is the node's clock less the reference's; it is
good to within half the round trip (after the ±).`;

/** A signed millisecond offset: "+1.2ms", "-340.0ms". */
export function formatOffset(ms: number): string {
  return `${ms < 0 ? "-" : "+"}${Math.abs(ms).toFixed(1)}ms`;
}

/** One row of the time table. */
export function timeRow(node: string, t: Time): string[] {
  const local = t.localtime?.getTime();
  const remote = t.remotetime?.getTime();
  const offset = local !== undefined && remote !== undefined
    ? `${formatOffset(local - remote)} ±${(t.roundTripUs / 2000).toFixed(1)}ms`
    : "-";
  return [
    node,
    t.server || "-",
    t.localtime?.toISOString() ?? "-",
    t.remotetime?.toISOString() ?? "-",
    offset,
  ];
}

async function run(args: string[], ctx: CommandContext): Promise<number> {
  const { positionals } = parseCommandArgs(args, {});
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"`);
  }
  return await withApiClient(ctx, async (api) => {
    const reply = await api.unary(MachineServiceService.time, {
      metadata: undefined,
    }, { signal: ctx.signal });
    const { good, errors } = splitReplies(reply.messages, api.defaultNode);
    if (!printStructured(ctx, TimeResponse, reply)) {
      ctx.io.stdout(formatTable(
        ["NODE", "SERVER", "NODE-TIME", "SERVER-TIME", "OFFSET"],
        good.map((m) => timeRow(nodeOf(m, api.defaultNode), m)),
      ));
    }
    return reportNodeErrors(ctx.io, errors);
  });
}

/** The time command. */
export const timeCommand: Command = {
  name: "time",
  summary: "Show the clock of nodes against the control plane's",
  usage: USAGE,
  run,
};
