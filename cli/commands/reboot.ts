/** `osctl reboot`: reboots every target node. */
import {
  MachineServiceService,
  RebootResponse,
} from "../../lib/api/gen/machine/machine.ts";
import type { Command, CommandContext } from "../command.ts";
import { UsageError } from "../command.ts";
import { parseCommandArgs } from "../client/args.ts";
import { printActorReply } from "../client/actor_reply.ts";
import { withApiClient } from "../client/session.ts";

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
    return printActorReply(ctx, api, RebootResponse, reply);
  });
}

/** The reboot command. */
export const rebootCommand: Command = {
  name: "reboot",
  summary: "Reboot nodes",
  usage: USAGE,
  run,
};
