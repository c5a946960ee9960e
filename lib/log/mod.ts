/**
 * Structured logging: JSON lines on stderr, a constant message and values in
 * fields. Never log a secret.
 * @module
 */

/** Severity of a log line. */
export type Level = "debug" | "info" | "warn" | "error";

/** Field values a log line may carry. */
export type Fields = Record<string, unknown>;

const ORDER: Record<Level, number> = {
  debug: 10,
  info: 20,
  warn: 30,
  error: 40,
};

/** Where log lines go; stderr by default, an array in tests. */
export interface LogSink {
  /** Writes one complete line (without newline). */
  write(line: string): void;
}

/** Options for {@linkcode createLogger}. */
export interface LoggerOptions {
  /** Lowest level written; "info" by default. */
  level?: Level;
  /** Destination; stderr by default. */
  sink?: LogSink;
  /** Fields added to every line. */
  fields?: Fields;
}

const encoder = new TextEncoder();

/** The default sink: synchronous writes to stderr. */
export const STDERR_SINK: LogSink = {
  write(line: string): void {
    try {
      Deno.stderr.writeSync(encoder.encode(line + "\n"));
    } catch {
      // stderr gone (parent closed the pipe): nothing sensible to do.
    }
  },
};

/** A logger writing JSON lines with fixed context fields. */
export class Logger {
  // Shared with every child, so setLevel() reaches the whole tree.
  #level: { value: number };
  #sink: LogSink;
  #fields: Fields;

  /** Makes a logger; prefer {@linkcode createLogger}. */
  constructor(options: LoggerOptions = {}) {
    this.#level = { value: ORDER[options.level ?? "info"] };
    this.#sink = options.sink ?? STDERR_SINK;
    this.#fields = options.fields ?? {};
  }

  /** Returns a logger that adds `fields` to every line (its level is shared). */
  child(fields: Fields): Logger {
    const child = new Logger({
      sink: this.#sink,
      fields: { ...this.#fields, ...fields },
    });
    child.#level = this.#level;
    return child;
  }

  /** The lowest level written. */
  get level(): Level {
    return (Object.keys(ORDER) as Level[]).find((l) =>
      ORDER[l] === this.#level.value
    ) ?? "info";
  }

  /** Changes the lowest level written, for this logger and all its children. */
  setLevel(level: Level): void {
    this.#level.value = ORDER[level];
  }

  /** Logs at debug level. */
  debug(msg: string, fields?: Fields): void {
    this.#log("debug", msg, fields);
  }

  /** Logs at info level. */
  info(msg: string, fields?: Fields): void {
    this.#log("info", msg, fields);
  }

  /** Logs at warn level. */
  warn(msg: string, fields?: Fields): void {
    this.#log("warn", msg, fields);
  }

  /** Logs at error level. */
  error(msg: string, fields?: Fields): void {
    this.#log("error", msg, fields);
  }

  #log(level: Level, msg: string, fields?: Fields): void {
    if (ORDER[level] < this.#level.value) return;
    const line: Fields = {
      ts: new Date().toISOString(),
      level,
      msg,
      ...this.#fields,
    };
    for (const [k, v] of Object.entries(fields ?? {})) {
      line[k] = v instanceof Error ? errorText(v) : v;
    }
    this.#sink.write(JSON.stringify(line));
  }
}

/** Formats an error with its causes: "outer: inner: innermost". */
export function errorText(err: unknown): string {
  const parts: string[] = [];
  let cur: unknown = err;
  for (let depth = 0; cur !== undefined && depth < 8; depth++) {
    const text = cur instanceof Error ? cur.message : String(cur);
    // A wrapper that already quotes its cause's words need not repeat them.
    if (!parts.some((p) => p.includes(text))) parts.push(text);
    cur = cur instanceof Error ? cur.cause : undefined;
  }
  return parts.join(": ");
}

/** Makes a logger for one daemon, with a `component` field. */
export function createLogger(
  component: string,
  options: LoggerOptions = {},
): Logger {
  const env = readLevelFromEnv();
  return new Logger({
    level: options.level ?? env,
    sink: options.sink,
    fields: { component, ...options.fields },
  });
}

function readLevelFromEnv(): Level | undefined {
  try {
    const v = Deno.env.get("BRONZE_LOG_LEVEL");
    return v && v in ORDER ? (v as Level) : undefined;
  } catch {
    return undefined; // no --allow-env for it: default level
  }
}

export { bootLog, bootStamp } from "./boot_log.ts";
export type { BootLog } from "./boot_log.ts";
