import { listProcesses, readProcess } from "../../lib/procfs/mod.ts";

/** A process of a local cluster. */
export interface ClusterProcess {
  /** Process id. */
  pid: number;
  /** Parent process id. */
  ppid: number;
  /** Command line, arguments joined by spaces. */
  cmdline: string;
}

/** The live processes whose command line mentions `marker`, and all their descendants. */
export async function processesOf(marker: string): Promise<ClusterProcess[]> {
  const all = (await listProcesses())
    .filter((p) => p.state !== "Z") // zombies hold nothing
    .map((p) => ({ pid: p.pid, ppid: p.ppid, cmdline: p.argv.join(" ") }));
  const found = new Map<number, ClusterProcess>();
  for (const p of all) {
    if (p.cmdline.includes(marker) && p.pid !== Deno.pid) found.set(p.pid, p);
  }
  let grew = true;
  while (grew) {
    grew = false;
    for (const p of all) {
      if (!found.has(p.pid) && found.has(p.ppid)) {
        found.set(p.pid, p);
        grew = true;
      }
    }
  }
  return [...found.values()];
}

/** Whether a process is alive (and not a zombie). */
export async function isAlive(pid: number): Promise<boolean> {
  try {
    const p = await readProcess(pid);
    return p !== undefined && p.state !== "Z";
  } catch {
    return false;
  }
}

/** What identifies a node's process: its pid and its state folder. */
export interface NodeProcess {
  /** The recorded pid (machined, or QEMU). */
  pid: number;
  /** The node's state folder, named on that process's command line. */
  stateDir: string;
}

/**
 * Whether the node's own process is alive: a live process at its pid whose
 * command line names the node's state folder (machined's `--state DIR`, or
 * QEMU's `-pidfile DIR/qemu.pid`). A pid since reused by another program
 * is not the node.
 */
export async function isNodeAlive(node: NodeProcess): Promise<boolean> {
  let argv: string[];
  try {
    const p = await readProcess(node.pid);
    if (p === undefined || p.state === "Z") return false;
    argv = p.argv;
  } catch {
    return false;
  }
  const qemuPid = `${node.stateDir}/qemu.pid`;
  return argv.some((a, i) =>
    (a === "--state" && argv[i + 1] === node.stateDir) ||
    (a === "-pidfile" && argv[i + 1] === qemuPid)
  );
}
