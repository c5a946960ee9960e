import {
  type GlobalOptions,
  type OutputFormat,
  UsageError,
} from "./command.ts";

const FORMATS: readonly OutputFormat[] = ["table", "json", "yaml"];

/** Splits a comma list flag value into trimmed non-empty items. */
export function splitList(value: string): string[] {
  return value.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
}

/**
 * Takes the global flags out of argv wherever they stand (before "--") and
 * returns them with the remaining arguments.
 */
export function extractGlobalFlags(
  argv: readonly string[],
  keep: readonly string[] = [],
  options: { lenient?: boolean } = {},
): { globals: GlobalOptions; rest: string[] } {
  const globals: GlobalOptions = { nodes: [], endpoints: [], output: "table" };
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      rest.push(...argv.slice(i));
      break;
    }
    const eq = arg.indexOf("=");
    const name = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg;
    const inline = arg.startsWith("--") && eq > 0
      ? arg.slice(eq + 1)
      : undefined;
    if (keep.includes(name)) {
      rest.push(arg);
      continue;
    }
    const value = (): string => {
      if (inline !== undefined) return inline;
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`flag ${name} needs a value`);
      return v;
    };
    switch (name) {
      case "-n":
      case "--nodes":
        globals.nodes.push(...splitList(value()));
        break;
      case "-e":
      case "--endpoints":
        globals.endpoints.push(...splitList(value()));
        break;
      case "--context":
        globals.context = value();
        break;
      case "--osconfig":
        globals.osconfig = value();
        break;
      case "-o":
      case "--output": {
        const v = value();
        if (!FORMATS.includes(v as OutputFormat)) {
          // The first pass only finds the command; it may own -o.
          if (options.lenient) break;
          throw new UsageError(
            `unknown output format "${v}" (table, json, yaml)`,
          );
        }
        globals.output = v as OutputFormat;
        break;
      }
      default:
        rest.push(arg);
    }
  }
  return { globals, rest };
}
