import { type Command, type CommandContext, UsageError } from "./command.ts";
import { extractGlobalFlags } from "./global_flags.ts";
import { errorText } from "../lib/log/mod.ts";

/** Finds the command whose name words match the longest argv prefix. */
export function findCommand(
  commands: readonly Command[],
  argv: readonly string[],
): { command: Command; args: string[]; words: string[] } | undefined {
  let best: { command: Command; args: string[]; words: string[] } | undefined;
  for (const command of commands) {
    for (const name of [command.name, ...(command.aliases ?? [])]) {
      const words = name.split(" ");
      if (
        words.every((w, i) => argv[i] === w) &&
        (!best || words.length > best.words.length)
      ) {
        best = { command, args: argv.slice(words.length), words };
      }
    }
  }
  return best;
}

/** Removes the first occurrence of each word, in order (the command's own name). */
function withoutWords(
  rest: readonly string[],
  words: readonly string[],
): string[] {
  const out = [...rest];
  let from = 0;
  for (const w of words) {
    const i = out.indexOf(w, from);
    if (i < 0) continue;
    out.splice(i, 1);
    from = i;
  }
  return out;
}

/** Renders the list of commands. */
export function helpText(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    "osctl: the Bronze operator CLI",
    "",
    "Usage: osctl [global flags] COMMAND [args]",
    "",
    "Commands:",
    ...lines,
    "",
    "Global flags:",
    "  -n, --nodes LIST       target nodes (comma separated)",
    "  -e, --endpoints LIST   endpoints to dial (comma separated)",
    "      --context NAME     client config context",
    "      --osconfig FILE    client config (default $OSCONFIG or ~/.osctl/config)",
    "  -o, --output FORMAT    table, json or yaml",
    "",
  ].join("\n");
}

/** Runs osctl with argv; returns the exit code. */
export async function dispatch(
  commands: readonly Command[],
  argv: readonly string[],
  ctx: Omit<CommandContext, "globals">,
): Promise<number> {
  let parsed;
  try {
    parsed = extractGlobalFlags(argv, [], { lenient: true });
  } catch (err) {
    ctx.io.stderr(`osctl: ${errorText(err)}\n`);
    return 2;
  }
  const { rest } = parsed;
  if (
    rest.length === 0 || rest[0] === "help" || rest[0] === "--help" ||
    rest[0] === "-h"
  ) {
    ctx.io.stdout(helpText(commands));
    return rest.length === 0 ? 2 : 0;
  }
  const found = findCommand(commands, rest);
  if (!found) {
    ctx.io.stderr(
      `osctl: unknown command "${rest.join(" ")}"\n\n${helpText(commands)}`,
    );
    return 2;
  }
  const { command } = found;
  let args = found.args;
  let globals;
  try {
    // Re-read the line strictly, keeping this command's own flags out of the globals.
    const again = extractGlobalFlags(argv, command.localFlags ?? []);
    globals = again.globals;
    args = withoutWords(again.rest, found.words);
  } catch (err) {
    ctx.io.stderr(
      `osctl ${command.name}: ${errorText(err)}\n\n${command.usage}\n`,
    );
    return 2;
  }
  if (args.includes("--help") || args.includes("-h")) {
    ctx.io.stdout(
      command.usage.endsWith("\n") ? command.usage : command.usage + "\n",
    );
    return 0;
  }
  try {
    return await command.run(args, { ...ctx, globals });
  } catch (err) {
    if (err instanceof UsageError) {
      ctx.io.stderr(
        `osctl ${command.name}: ${err.message}\n\n${command.usage}\n`,
      );
      return 2;
    }
    ctx.io.stderr(`osctl ${command.name}: ${errorText(err)}\n`);
    return 1;
  }
}
