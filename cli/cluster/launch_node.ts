import { join } from "node:path";

/** Options for {@linkcode launchNode}. */
export interface LaunchNodeOptions {
  /** The repository root (where services/ lives). */
  root: string;
  /** The node's state folder. */
  stateDir: string;
  /** The node's address. */
  address: string;
  /** The machine config file. */
  configPath: string;
  /** The node's hostname. */
  hostname: string;
  /** Extra machined flags (e.g. a short certificate TTL in tests). */
  extraArgs?: string[];
}

/**
 * Deno permissions of machined in process mode. machined is the node's init:
 * it runs every other program (so --allow-run already reaches the machine) and
 * reads /proc and /dev/kmsg, which Deno 2.9 grants only with --allow-all. The
 * daemons it starts get least permissions (services/machined).
 */
export function machinedPermissions(): string[] {
  return ["--allow-all"];
}

/**
 * Starts one process-mode node: machined in a session of its own (so the node
 * outlives osctl and a Ctrl-C in its terminal), output appended to
 * STATE/machined.log. Returns machined's pid.
 */
export async function launchNode(options: LaunchNodeOptions): Promise<number> {
  await Deno.mkdir(options.stateDir, { recursive: true, mode: 0o700 });
  const log = join(options.stateDir, "machined.log");
  // A node upgraded before runs its current release (lib/upgrade).
  const current = join(options.stateDir, "releases", "current");
  const root = await Deno.stat(join(current, "services", "machined", "main.ts"))
    .then(() => current, () => options.root);
  const args = [
    "-c",
    'log="$1"; shift; exec "$@" >>"$log" 2>&1 </dev/null',
    "sh",
    log,
    Deno.execPath(),
    "run",
    "--quiet",
    "--no-prompt",
    ...machinedPermissions(),
    join(root, "services", "machined", "main.ts"),
    "--state",
    options.stateDir,
    "--address",
    options.address,
    "--config",
    options.configPath,
    "--hostname",
    options.hostname,
    ...(options.extraArgs ?? []),
  ];
  const child = new Deno.Command("setsid", {
    args: ["sh", ...args],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  child.unref();
  // setsid execs in place (we are not a group leader), so this is machined's pid.
  return child.pid;
}
