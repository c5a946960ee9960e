/** `osctl shutdown [--force] [--wait]`: stops every target node. */
import {
  MachineServiceService,
  ShutdownResponse,
} from "../../lib/api/gen/machine/machine.ts";
import type { Command, CommandContext } from "../command.ts";
import { UsageError } from "../command.ts";
import { parseCommandArgs, parseDurationSeconds } from "../client/args.ts";
import { printActorReply } from "../client/actor_reply.ts";
import { withApiClient } from "../client/session.ts";
import {
  noteActors,
  waitForShutdown,
  waitTargets,
} from "../client/wait_nodes.ts";

const USAGE = `Usage: osctl shutdown [--force] [--wait [--timeout 10m]]

Shuts every target node down (process mode: all services stop and machined
exits).

Flags:
      --force        skip the graceful stop of services
      --wait         follow each node until it no longer answers
      --timeout D    how long --wait waits (default 10m)`;

async function run(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    force: { type: "boolean", default: false },
    wait: { type: "boolean", default: false },
    timeout: { type: "string" },
  });
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"`);
  }
  if (values.timeout !== undefined && !values.wait) {
    throw new UsageError("--timeout needs --wait");
  }
  const timeoutMs = parseDurationSeconds(values.timeout ?? "10m", "--timeout") *
    1000;
  return await withApiClient(ctx, async (api) => {
    const reply = await api.unary(
      MachineServiceService.shutdown,
      { force: values.force ?? false },
      { signal: ctx.signal },
    );
    const code = printActorReply(ctx, api, ShutdownResponse, reply);
    if (!values.wait) return code;
    const targets = await waitTargets(ctx, api);
    try {
      noteActors(targets, reply, api.defaultNode);
      const waited = await waitForShutdown(ctx, targets, { timeoutMs });
      return Math.max(code, waited);
    } finally {
      for (const t of targets) t.client.close();
    }
  });
}

/** The shutdown command. */
export const shutdownCommand: Command = {
  name: "shutdown",
  summary: "Shut nodes down",
  usage: USAGE,
  run,
};
