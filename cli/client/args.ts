/**
 * Parsing a command's own flags (global flags are already gone), with usage
 * errors that name the bad flag or value.
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "../command.ts";
import { nearest } from "../suggest.ts";

/** Parses `args` strictly; unknown flags and bad forms are UsageErrors. */
export function parseCommandArgs<
  O extends NonNullable<ParseArgsConfig["options"]>,
>(
  args: string[],
  options: O,
): {
  values: ReturnType<
    typeof parseArgs<
      { options: O; args: string[]; allowPositionals: true; strict: true }
    >
  >["values"];
  positionals: string[];
} {
  try {
    const { values, positionals } = parseArgs({
      args,
      options,
      allowPositionals: true,
      strict: true,
    });
    return { values, positionals };
  } catch (err) {
    throw argsError(err, options);
  }
}

/** Global flags, so a typo of one is suggested too. */
const GLOBAL_FLAGS = [
  "--nodes",
  "--endpoints",
  "--context",
  "--osconfig",
  "--output",
];

/**
 * Turns node:util parseArgs's error into a short UsageError; an unknown flag
 * names the nearest known one ("unknown flag --shrt; did you mean --short?").
 */
export function argsError(
  err: unknown,
  options: NonNullable<ParseArgsConfig["options"]>,
): UsageError {
  const message = err instanceof Error ? err.message : String(err);
  const unknown = /^Unknown option '([^']+)'/.exec(message);
  if (unknown) {
    const flag = unknown[1];
    const known = [
      ...Object.keys(options).map((k) => `--${k}`),
      ...Object.values(options).flatMap((o) => o.short ? [`-${o.short}`] : []),
      ...GLOBAL_FLAGS,
    ];
    const near = flag.startsWith("--")
      ? nearest(flag.split("=")[0], known.filter((k) => k.startsWith("--")))
      : undefined;
    return new UsageError(
      `unknown flag ${flag}${near ? `; did you mean ${near}?` : ""}`,
      { cause: err },
    );
  }
  const missing = /^Option '(?:-\w, )?(--[\w-]+) <value>' argument missing/
    .exec(message);
  if (missing) {
    return new UsageError(`flag ${missing[1]} needs a value`, { cause: err });
  }
  return new UsageError(message, { cause: err });
}

/** Parses a whole number flag (e.g. --tail); -1 allowed when `allowAll`. */
export function parseIntFlag(
  value: string | undefined,
  flag: string,
  fallback: number,
): number {
  if (value === undefined) return fallback;
  if (!/^-?\d+$/.test(value) || Number(value) < -1 || Number(value) > 1e9) {
    throw new UsageError(
      `${flag} ${JSON.stringify(value)}: want a whole number (-1 for all)`,
    );
  }
  return Number(value);
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** Parses a Go-style duration ("8760h", "1h30m", "90s") into seconds. */
export function parseDurationSeconds(value: string, flag: string): number {
  const re = /(\d+)([smhd])/g;
  let total = 0;
  let consumed = 0;
  for (const m of value.matchAll(re)) {
    if (m.index !== consumed) break;
    total += Number(m[1]) * UNITS[m[2]];
    consumed += m[0].length;
  }
  if (value === "" || consumed !== value.length || total <= 0) {
    throw new UsageError(
      `${flag} ${JSON.stringify(value)}: want a duration like 8760h, 24h, 90m`,
    );
  }
  return total;
}
