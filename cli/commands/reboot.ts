/** `osctl reboot [--wait]`: reboots every target node. */
import {
  MachineServiceService,
  RebootResponse,
} from "../../lib/api/gen/machine/machine.ts";
import type { Command, CommandContext } from "../command.ts";
import { UsageError } from "../command.ts";
import { parseCommandArgs, parseDurationSeconds } from "../client/args.ts";
import { printActorReply } from "../client/actor_reply.ts";
import { withApiClient } from "../client/session.ts";
import {
  noteActors,
  noteBoots,
  waitForReboot,
  waitTargets,
} from "../client/wait_nodes.ts";

const USAGE = `Usage: osctl reboot [--wait [--timeout 10m]]

Reboots every target node (process mode: every service restarts in place).

Flags:
      --wait         follow each node until it is back (all services up),
                     one line per change
      --timeout D    how long --wait waits (default 10m)`;

async function run(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
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
    const targets = values.wait ? await waitTargets(ctx, api) : [];
    try {
      // Which boot each node is in, to tell a real reboot from one in place.
      await noteBoots(targets, ctx.signal);
      const reply = await api.unary(MachineServiceService.reboot, {}, {
        signal: ctx.signal,
      });
      const code = printActorReply(ctx, api, RebootResponse, reply);
      if (!values.wait) return code;
      noteActors(targets, reply, api.defaultNode);
      const waited = await waitForReboot(ctx, targets, { timeoutMs });
      return Math.max(code, waited);
    } finally {
      for (const t of targets) t.client.close();
    }
  });
}

/** The reboot command. */
export const rebootCommand: Command = {
  name: "reboot",
  summary: "Reboot nodes",
  usage: USAGE,
  run,
};
