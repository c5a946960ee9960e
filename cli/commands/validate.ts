/** `osctl validate`: checks a machine config file offline. */
import { parseArgs } from "node:util";
import {
  ConfigValidationError,
  loadMachineConfig,
} from "../../lib/config/mod.ts";
import type { Command, CommandContext } from "../command.ts";
import { UsageError } from "../command.ts";

const USAGE = `Usage: osctl validate --config FILE

Parses and validates a machine config; prints every problem with its path and
exits 1 if there is any.`;

async function run(args: string[], ctx: CommandContext): Promise<number> {
  let v;
  try {
    v = parseArgs({
      args,
      strict: true,
      options: { config: { type: "string", short: "c" } },
    }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (!v.config) throw new UsageError("--config FILE is required");
  try {
    const cfg = await loadMachineConfig(v.config);
    ctx.io.stdout(`${v.config} is valid (${cfg.machine.type})\n`);
    return 0;
  } catch (err) {
    if (err instanceof ConfigValidationError) {
      ctx.io.stderr(`${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

/** The `validate` command. */
export const validateCommand: Command = {
  name: "validate",
  summary: "validate a machine config file",
  usage: USAGE,
  run,
};
