/**
 * A strict long-flag parser for the daemons' command lines: `--name value`,
 * `--name=value` and `--switch`, nothing else. It takes the subset of
 * node:util's parseArgs the daemons use, so that a daemon need not load
 * Deno's Node compatibility layer (under QEMU TCG ~0.5 s of a start, and
 * ~8 MB of peak memory) for its flags alone.
 * @module
 */

/** One flag: a value (`string`) or a switch (`boolean`), with a default. */
export interface FlagSpec {
  /** What the flag takes. */
  type: "string" | "boolean";
  /** The value when the flag is absent. */
  default?: string | boolean;
}

/** The parsed value type of one {@linkcode FlagSpec}. */
export type FlagValue<S extends FlagSpec> = S extends { type: "boolean" }
  ? S extends { default: boolean } ? boolean : boolean | undefined
  : S extends { default: string } ? string
  : string | undefined;

/** What {@linkcode parseFlags} returns. */
export interface ParsedFlags<O extends Record<string, FlagSpec>> {
  /** Each flag's value (its default, or undefined, when absent). */
  values: { [K in keyof O]: FlagValue<O[K]> };
  /** Arguments that are not flags (only with `allowPositionals`). */
  positionals: string[];
}

/** Options for {@linkcode parseFlags}. */
export interface ParseFlagsOptions {
  /** Accept arguments that are not flags (default false: they are errors). */
  allowPositionals?: boolean;
}

/**
 * Parses `args` against `flags`. Throws an Error naming the argument for
 * an unknown flag, a value flag without a value, a value given to a switch,
 * or (without `allowPositionals`) any other argument. `--` ends the flags.
 * A flag given twice keeps its last value.
 */
export function parseFlags<O extends Record<string, FlagSpec>>(
  args: readonly string[],
  flags: O,
  options: ParseFlagsOptions = {},
): ParsedFlags<O> {
  const values: Record<string, string | boolean | undefined> = {};
  for (const [name, spec] of Object.entries(flags)) values[name] = spec.default;
  const positionals: string[] = [];
  const positional = (a: string) => {
    if (!options.allowPositionals) {
      throw new Error(`unexpected argument ${JSON.stringify(a)}`);
    }
    positionals.push(a);
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--") {
      for (const rest of args.slice(i + 1)) positional(rest);
      break;
    }
    if (!a.startsWith("--") || a === "-") {
      if (a.startsWith("-") && a !== "-") {
        throw new Error(`unknown flag ${JSON.stringify(a)}`);
      }
      positional(a);
      continue;
    }
    const eq = a.indexOf("=");
    const name = a.slice(2, eq < 0 ? undefined : eq);
    const spec = Object.hasOwn(flags, name) ? flags[name] : undefined;
    if (spec === undefined || name === "") {
      throw new Error(`unknown flag ${JSON.stringify(`--${name}`)}`);
    }
    if (spec.type === "boolean") {
      if (eq >= 0) {
        throw new Error(`--${name} is a switch and takes no value`);
      }
      values[name] = true;
      continue;
    }
    if (eq >= 0) {
      values[name] = a.slice(eq + 1);
      continue;
    }
    const next = args[i + 1];
    if (next === undefined || next.startsWith("--")) {
      throw new Error(`--${name} needs a value`);
    }
    values[name] = next;
    i++;
  }
  return { values: values as ParsedFlags<O>["values"], positionals };
}
