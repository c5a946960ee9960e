/**
 * The `deno compile` path: one self-contained executable per daemon, for
 * machines where a real `denort` runtime is available (DENORT_BIN). Here
 * `deno compile` cannot download denort and a full `deno` as DENORT_BIN makes
 * programs that start a REPL, so the image uses bundles and one shared
 * runtime instead; this path is kept for where denort exists.
 *
 * `DENORT_BIN=/path/to/denort deno run -A image/compile.ts [--out DIR]`
 *
 * Compiled programs carry their Deno permissions inside; they are the
 * daemons' image-mode permissions (bus on 127.0.0.1, state under
 * /system/state), from machined's permission table.
 * @module
 */

import { parseArgs } from "node:util";
import { run } from "./pipeline/exec.ts";
import {
  DAEMON_DIRS,
  denoPermissionFlags,
  IMAGE_DAEMONS,
  STATE_MOUNT,
  type SupervisedDaemon,
} from "../lib/layout/mod.ts";
import { NATS_PORT } from "../lib/constants/mod.ts";
import { errorText } from "../lib/log/mod.ts";

/** The `deno compile` arguments for one daemon folder under services/. */
export function compileArgs(daemonDir: string, output: string): string[] {
  let perms: string[];
  if (daemonDir === "machined") {
    perms = ["--allow-all"];
  } else {
    const daemon = (Object.keys(DAEMON_DIRS) as SupervisedDaemon[])
      .find((d) => DAEMON_DIRS[d] === daemonDir);
    if (daemon === undefined) {
      throw new Error(
        `No permission row for daemon folder ${JSON.stringify(daemonDir)}`,
      );
    }
    perms = denoPermissionFlags(daemon, {
      address: "127.0.0.1",
      natsPort: NATS_PORT,
      stateDir: STATE_MOUNT,
      controlPlane: true,
    });
  }
  return [
    "compile",
    "--no-check",
    "--no-prompt",
    ...perms,
    "--output",
    output,
    `services/${daemonDir}/main.ts`,
  ];
}

/**
 * Checks DENORT_BIN: set, an executable file, and not the full Deno binary
 * (which would make executables that start a REPL).
 */
export async function checkDenort(
  denort: string | undefined,
  deno: string,
): Promise<string> {
  if (denort === undefined || denort === "") {
    throw new Error(
      "DENORT_BIN is not set: deno compile needs a real denort runtime, which it cannot download here. " +
        "The image does not need it (it runs bundles on one shared Deno runtime).",
    );
  }
  let st: Deno.FileInfo;
  try {
    st = await Deno.stat(denort);
  } catch (cause) {
    throw new Error(`DENORT_BIN ${JSON.stringify(denort)} does not exist`, {
      cause,
    });
  }
  if (!st.isFile || ((st.mode ?? 0) & 0o111) === 0) {
    throw new Error(
      `DENORT_BIN ${JSON.stringify(denort)} is not an executable file`,
    );
  }
  const full = await Deno.stat(deno);
  if (
    (st.ino !== null && st.ino === full.ino && st.dev === full.dev) ||
    st.size === full.size
  ) {
    throw new Error(
      `DENORT_BIN ${
        JSON.stringify(denort)
      } is the full deno binary, not denort: ` +
        "compiled programs would start a REPL instead of the daemon",
    );
  }
  return denort;
}

if (import.meta.main) {
  const repoRoot = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
  try {
    const { values } = parseArgs({
      args: Deno.args,
      options: {
        out: { type: "string", default: `${repoRoot}/image/build/compiled` },
        daemons: { type: "string", default: IMAGE_DAEMONS.join(",") },
      },
      strict: true,
    });
    const denort = await checkDenort(
      Deno.env.get("DENORT_BIN"),
      Deno.execPath(),
    );
    await Deno.mkdir(values.out, { recursive: true });
    for (const d of values.daemons.split(",").filter((x) => x !== "")) {
      await run(Deno.execPath(), compileArgs(d, `${values.out}/${d}`), {
        cwd: repoRoot,
        env: { DENORT_BIN: denort, NO_COLOR: "1" },
      });
      console.log(`${values.out}/${d}`);
    }
  } catch (err) {
    console.error(`compile failed: ${errorText(err)}`);
    Deno.exit(1);
  }
}
