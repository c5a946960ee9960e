/** osctl: the Bronze operator CLI. Wiring only; commands live in cli/commands/. */
import { COMMANDS } from "./commands/mod.ts";
import { dispatch } from "./dispatch.ts";

const encoder = new TextEncoder();
const ac = new AbortController();
Deno.addSignalListener("SIGINT", () => ac.abort());
const code = await dispatch(COMMANDS, Deno.args, {
  io: {
    stdout: (s) => void Deno.stdout.writeSync(encoder.encode(s)),
    stderr: (s) => void Deno.stderr.writeSync(encoder.encode(s)),
  },
  signal: ac.signal,
});
Deno.exit(code);
