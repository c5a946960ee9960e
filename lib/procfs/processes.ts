/** One process as /proc/PID/stat and cmdline describe it. */
export interface ProcessEntry {
  /** Process id. */
  pid: number;
  /** Parent process id. */
  ppid: number;
  /** Process group id. */
  pgid: number;
  /** One-letter state (R, S, D, Z, ...). */
  state: string;
  /** The command name (comm). */
  comm: string;
  /** argv, empty for kernel threads and zombies. */
  argv: string[];
}

/** Parses the text of /proc/PID/stat (comm may hold spaces and parens). */
export function parseStat(
  text: string,
): Omit<ProcessEntry, "argv"> {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) {
    throw new Error(`Cannot parse stat ${JSON.stringify(text.slice(0, 60))}`);
  }
  const pid = Number(text.slice(0, open).trim());
  const rest = text.slice(close + 2).split(" ");
  const entry = {
    pid,
    comm: text.slice(open + 1, close),
    state: rest[0],
    ppid: Number(rest[1]),
    pgid: Number(rest[2]),
  };
  if (!Number.isInteger(pid) || !Number.isInteger(entry.ppid)) {
    throw new Error(`Cannot parse stat ${JSON.stringify(text.slice(0, 60))}`);
  }
  return entry;
}

/** Reads one process; undefined when it is gone. */
export async function readProcess(
  pid: number,
): Promise<ProcessEntry | undefined> {
  try {
    const stat = parseStat(await Deno.readTextFile(`/proc/${pid}/stat`));
    const cmdline = await Deno.readTextFile(`/proc/${pid}/cmdline`);
    const argv = cmdline.split("\0");
    if (argv.at(-1) === "") argv.pop();
    return { ...stat, argv };
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

/** Lists every process visible in /proc (skipping ones that exit meanwhile). */
export async function listProcesses(): Promise<ProcessEntry[]> {
  const out: ProcessEntry[] = [];
  for await (const e of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const p = await readProcess(Number(e.name));
      if (p) out.push(p);
    } catch {
      // raced with exit or unreadable: skip
    }
  }
  return out;
}
