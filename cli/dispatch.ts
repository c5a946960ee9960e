import { type Command, type CommandContext, UsageError } from "./command.ts";
import { extractGlobalFlags } from "./global_flags.ts";
import { errorLine } from "./client/errors.ts";
import { nearest } from "./suggest.ts";

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

/** The three groups of talosctl's help, in its order. */
const GROUPS = [
  { title: "Manage running clusters:", has: (_: string) => true },
  {
    title: "Generate and manage machine configuration offline:",
    has: (name: string) =>
      /^(gen|validate|machineconfig|completion)( |$)/.test(name),
  },
  {
    title: "Local cluster commands:",
    has: (name: string) => /^cluster( |$)/.test(name),
  },
] as const;

/** Which help group a command is in (talosctl's: talos, mgmt, cluster). */
export function commandGroup(name: string): string {
  for (const g of [GROUPS[2], GROUPS[1]]) if (g.has(name)) return g.title;
  return GROUPS[0].title;
}

function listing(commands: readonly Command[]): string[] {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines: string[] = [];
  for (const g of GROUPS) {
    const mine = commands.filter((c) => commandGroup(c.name) === g.title);
    if (mine.length === 0) continue;
    lines.push(g.title);
    for (const c of mine) lines.push(`  ${c.name.padEnd(width)}  ${c.summary}`);
    lines.push("");
  }
  return lines;
}

/** Renders the list of commands, grouped as talosctl's help groups them. */
export function helpText(commands: readonly Command[]): string {
  return [
    "osctl: the Bronze operator CLI",
    "",
    "Usage: osctl [global flags] COMMAND [args]",
    "",
    ...listing(commands),
    "Global flags:",
    ...GLOBAL_FLAG_LINES,
    "",
  ].join("\n");
}

const GLOBAL_FLAG_LINES = [
  "  -n, --nodes LIST       target nodes (comma separated)",
  "  -e, --endpoints LIST   endpoints to dial (comma separated)",
  "      --context NAME     client config context",
  "      --osconfig FILE    client config (default $OSCONFIG or ~/.osctl/config)",
  "  -o, --output FORMAT    table, json or yaml",
];

const GLOBAL_FLAG_NAMES = [
  "--nodes",
  "--endpoints",
  "--context",
  "--osconfig",
  "--output",
  "--help",
];

/** The subcommands of a group word such as "config" or "cluster". */
export function groupText(commands: readonly Command[], word: string): string {
  const subs = commands.filter((c) => c.name.startsWith(`${word} `));
  const width = Math.max(...subs.map((c) => c.name.length));
  return [
    `Usage: osctl ${word} COMMAND [args]`,
    "",
    "Commands:",
    ...subs.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    `Run "osctl ${word} COMMAND --help" for one command's flags.`,
    "",
  ].join("\n");
}

/** Says a command line names no command, with the nearest one if any. */
function unknownCommand(
  commands: readonly Command[],
  rest: readonly string[],
): string {
  if (rest[0].startsWith("-")) {
    // Before the command only global flags may stand.
    const flag = rest[0].split("=")[0];
    const near = nearest(
      flag,
      GLOBAL_FLAG_NAMES.filter((f) => f.startsWith("--")),
    );
    return `osctl: unknown flag ${flag}${
      near ? `; did you mean ${near}?` : ""
    }\nRun "osctl help" for the global flags.\n`;
  }
  const group = commands.some((c) => c.name.startsWith(`${rest[0]} `));
  const names = commands.flatMap((c) => [c.name, ...(c.aliases ?? [])]);
  const typed = group ? rest.slice(0, 2).join(" ") : rest[0];
  const pool = group
    ? names.filter((n) => n.startsWith(`${rest[0]} `))
    : names.map((n) => n.split(" ")[0]);
  const near = nearest(typed, new Set(pool));
  const hint = near ? `; did you mean "${near}"?` : "";
  const more = group
    ? `Run "osctl ${rest[0]}" for its commands.`
    : `Run "osctl help" for the list of commands.`;
  return `osctl: unknown command "${typed}"${hint}\n${more}\n`;
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
    ctx.io.stderr(`osctl: ${errorLine(err)}\n`);
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
    const isGroup = commands.some((c) => c.name.startsWith(`${rest[0]} `));
    const asksHelp = rest.length === 1 || rest[1] === "--help" ||
      rest[1] === "-h" || rest[1] === "help";
    if (isGroup && asksHelp) {
      ctx.io.stdout(groupText(commands, rest[0]));
      return 0;
    }
    ctx.io.stderr(unknownCommand(commands, rest));
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
      `osctl ${command.name}: ${errorLine(err)}\n\n${command.usage}\n`,
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
    ctx.io.stderr(`osctl ${command.name}: ${errorLine(err)}\n`);
    return 1;
  }
}
