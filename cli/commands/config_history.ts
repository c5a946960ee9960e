/**
 * `osctl config history [--diff]`: each target node's last accepted
 * machine configs (time, actor, mode, hash), the one it runs marked, and a
 * config pending for the next reboot or under a try.
 * @module
 */
import {
  ConfigHistoryResponse,
  type ConfigRecord,
  MachineServiceService,
} from "../../lib/api/gen/machine/machine.ts";
import type { Command, CommandContext } from "../command.ts";
import { UsageError } from "../command.ts";
import { parseCommandArgs } from "../client/args.ts";
import { formatTable, reportNodeErrors } from "../client/output.ts";
import { nodeOf, splitReplies } from "../client/reply.ts";
import { printStructured, withApiClient } from "../client/session.ts";

const USAGE = `Usage: osctl config history [--diff]

Lists each target node's last 16 accepted machine configs, oldest first:
when, who (client certificate CN), how (the apply mode) and the config's
sha256. "*" marks the config the node runs; a staged config shows as
"pending" (applied at the next reboot), a try in progress as "trying" with
the time it is reverted. "osctl apply-config --rollback N" re-applies one.

Flags:
      --diff   print each record's diff from the one before (secrets redacted)`;

function row(node: string, r: ConfigRecord, state: string): string[] {
  return [
    node,
    r.seq === 0 ? "-" : String(r.seq),
    state,
    r.time,
    r.actor,
    r.mode,
    r.hash.slice(0, 12),
  ];
}

async function run(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    diff: { type: "boolean", default: false },
  });
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"`);
  }
  return await withApiClient(ctx, async (api) => {
    const reply = await api.unary(
      MachineServiceService.configHistory,
      { withDiff: values.diff ?? false },
      { signal: ctx.signal },
    );
    const { good, errors } = splitReplies(reply.messages, api.defaultNode);
    if (printStructured(ctx, ConfigHistoryResponse, reply)) {
      return reportNodeErrors(ctx.io, errors);
    }
    const rows: string[][] = [];
    const diffs: string[] = [];
    for (const m of good) {
      const node = nodeOf(m, api.defaultNode);
      for (const r of m.records) {
        rows.push(row(node, r, r.current ? "*" : ""));
        if (values.diff && r.diff !== "") {
          diffs.push(`# NODE ${node} #${r.seq}\n${r.diff}`);
        }
      }
      if (m.staged) rows.push(row(node, m.staged, "pending"));
      if (m.trying) {
        rows.push(row(node, m.trying, `trying until ${m.tryRevertsAt}`));
      }
    }
    ctx.io.stdout(formatTable(
      ["NODE", "SEQ", "STATE", "TIME", "ACTOR", "MODE", "HASH"],
      rows,
    ));
    if (diffs.length > 0) ctx.io.stdout("\n" + diffs.join("\n"));
    return reportNodeErrors(ctx.io, errors);
  });
}

/** The `config history` command. */
export const configHistoryCommand: Command = {
  name: "config history",
  summary: "list the nodes' accepted machine configs",
  usage: USAGE,
  run,
};
