/**
 * osctl as the operator runs it, for the end-to-end tests: `cli/main.ts` in
 * a Deno process of its own, its output collected.
 * @module
 */
import { fileURLToPath } from "node:url";

const CLI_MAIN = fileURLToPath(new URL("../cli/main.ts", import.meta.url));

/** How an osctl run ended. */
export interface OsctlResult {
  /** Exit code. */
  code: number;
  /** Standard output. */
  stdout: string;
  /** Standard error. */
  stderr: string;
}

/** Options for {@linkcode runOsctl}. */
export interface RunOsctlOptions {
  /** Environment beside NO_COLOR=1 (HOME for a client config of its own). */
  env?: Readonly<Record<string, string>>;
  /** Kills osctl when aborted. */
  signal?: AbortSignal;
  /** Working folder (default this process's). */
  cwd?: string;
}

/** Runs osctl with `args` and waits for it to end. */
export async function runOsctl(
  args: readonly string[],
  options: RunOsctlOptions = {},
): Promise<OsctlResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--no-prompt", "-A", CLI_MAIN, ...args],
    env: { NO_COLOR: "1", ...options.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: options.signal,
    cwd: options.cwd,
  }).output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
  };
}
