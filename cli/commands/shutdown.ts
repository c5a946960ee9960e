/** `osctl shutdown [--force]`: stops every target node. */
import {
  MachineServiceService,
  ShutdownResponse,
} from "../../lib/api/gen/machine/machine.ts";
import type { Command, CommandContext } from "../command.ts";
import { UsageError } from "../command.ts";
import { parseCommandArgs } from "../client/args.ts";
import { printActorReply } from "../client/actor_reply.ts";
import { withApiClient } from "../client/session.ts";

const USAGE = `Usage: osctl shutdown [--force]

Shuts every target node down (process mode: all services stop and machined
exits).

Flags:
      --force   skip the graceful stop of services`;

async function run(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    force: { type: "boolean", default: false },
  });
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"`);
  }
  return await withApiClient(ctx, async (api) => {
    const reply = await api.unary(
      MachineServiceService.shutdown,
      { force: values.force ?? false },
      { signal: ctx.signal },
    );
    return printActorReply(ctx, api, ShutdownResponse, reply);
  });
}

/** The shutdown command. */
export const shutdownCommand: Command = {
  name: "shutdown",
  summary: "Shut nodes down",
  usage: USAGE,
  run,
};
