/** osctl: the Bronze operator CLI. Wiring only; commands live in cli/commands/. */
import { COMMANDS } from "./commands/mod.ts";
import { dispatch } from "./dispatch.ts";

const encoder = new TextEncoder();
const ac = new AbortController();
Deno.addSignalListener("SIGINT", () => ac.abort());

/** Writes all of `text`; a closed pipe (`osctl ps | head`) ends osctl quietly. */
function write(file: typeof Deno.stdout, text: string): void {
  writeBytes(file, encoder.encode(text));
}

/** Writes all of `bytes`, as write() does. */
function writeBytes(file: typeof Deno.stdout, bytes: Uint8Array): void {
  try {
    for (let off = 0; off < bytes.length;) {
      off += file.writeSync(bytes.subarray(off));
    }
  } catch (err) {
    if (err instanceof Deno.errors.BrokenPipe) Deno.exit(0);
    throw err;
  }
}

const code = await dispatch(COMMANDS, Deno.args, {
  io: {
    stdout: (s) => write(Deno.stdout, s),
    stderr: (s) => write(Deno.stderr, s),
    stdoutBytes: (b) => writeBytes(Deno.stdout, b),
    terminalSize: () =>
      Deno.stdout.isTerminal() ? Deno.consoleSize() : undefined,
  },
  signal: ac.signal,
});
Deno.exit(code);
