/** One process as /proc shows it. */
export interface ProcessEntry {
  /** Process id. */
  pid: number;
  /** Parent process id. */
  ppid: number;
  /** Command line, arguments joined by spaces. */
  cmdline: string;
}

/** Lists every process readable in /proc. */
export async function listProcesses(): Promise<ProcessEntry[]> {
  const out: ProcessEntry[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = await Deno.readTextFile(`/proc/${entry.name}/stat`);
      // The command name may contain spaces and parentheses: split after the last ")".
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (fields[0] === "Z") continue; // zombies hold nothing
      const raw = await Deno.readFile(`/proc/${entry.name}/cmdline`);
      const cmdline = new TextDecoder().decode(raw).replaceAll("\0", " ")
        .trim();
      out.push({ pid: Number(entry.name), ppid: Number(fields[1]), cmdline });
    } catch {
      // exited while we looked
    }
  }
  return out;
}

/** The processes whose command line mentions `marker` and all their descendants. */
export async function processesOf(marker: string): Promise<ProcessEntry[]> {
  const all = await listProcesses();
  const found = new Map<number, ProcessEntry>();
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
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}
