/** `osctl reboot`: reboots every target node. */
import {
  MachineServiceService,
  RebootResponse,
} from "../../lib/api/gen/machine/machine.ts";
import type { Command, CommandContext } from "../command.ts";
import { UsageError } from "../command.ts";
import { parseCommandArgs } from "../client/args.ts";
import { formatTable, reportNodeErrors } from "../client/output.ts";
import { nodeOf, splitReplies } from "../client/reply.ts";
import { printStructured, withApiClient } from "../client/session.ts";

const USAGE = `Usage: osctl reboot

Reboots every target node (process mode: every service restarts in place).`;

async function run(args: string[], ctx: CommandContext): Promise<number> {
  const { positionals } = parseCommandArgs(args, {});
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"`);
  }
  return await withApiClient(ctx, async (api) => {
    const reply = await api.unary(MachineServiceService.reboot, {}, {
      signal: ctx.signal,
    });
    const { good, errors } = splitReplies(reply.messages, api.defaultNode);
    if (!printStructured(ctx, RebootResponse, reply)) {
      ctx.io.stdout(formatTable(
        ["NODE", "ACTOR ID"],
        good.map((m) => [nodeOf(m, api.defaultNode), m.actorId]),
      ));
    }
    return reportNodeErrors(ctx.io, errors);
  });
}

/** The reboot command. */
export const rebootCommand: Command = {
  name: "reboot",
  summary: "Reboot nodes",
  usage: USAGE,
  run,
};
