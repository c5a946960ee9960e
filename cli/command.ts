/** Output formats every API command supports. */
export type OutputFormat = "table" | "json" | "yaml";

/** Flags every command accepts, anywhere on the command line. */
export interface GlobalOptions {
  /** Target nodes (-n/--nodes), empty when not given. */
  nodes: string[];
  /** Endpoints to dial (-e/--endpoints), empty when not given. */
  endpoints: string[];
  /** Client config context (--context). */
  context?: string;
  /** Client config path (--osconfig). */
  osconfig?: string;
  /** Output format (-o/--output). */
  output: OutputFormat;
}

/** Where a command writes. */
export interface CliIO {
  /** Writes to standard output (no newline added). */
  stdout(text: string): void;
  /** Writes to standard error (no newline added). */
  stderr(text: string): void;
  /** Writes raw bytes to standard output (files, archives), where it can. */
  stdoutBytes?(bytes: Uint8Array): void;
  /** The terminal's size when standard output is one (a redraw fits it). */
  terminalSize?(): { rows: number; columns: number } | undefined;
}

/** What a command's run function gets. */
export interface CommandContext {
  /** Global flags. */
  globals: GlobalOptions;
  /** Output streams. */
  io: CliIO;
  /** Aborted on Ctrl-C. */
  signal: AbortSignal;
}

/** One osctl command. */
export interface Command {
  /** Words that name it, e.g. "cluster create" or "version". */
  name: string;
  /** Other names, e.g. "services" for "service". */
  aliases?: string[];
  /** One line for the help listing. */
  summary: string;
  /** Usage text shown by --help and on bad arguments. */
  usage: string;
  /** Global flag names this command takes as its own (e.g. "--nodes" as a count). */
  localFlags?: readonly string[];
  /** Runs with the arguments after the command words; returns the exit code. */
  run(args: string[], ctx: CommandContext): Promise<number>;
}

/** A bad command line: printed with the usage, exit code 2. */
export class UsageError extends Error {
  /** Makes a usage error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "UsageError";
  }
}
