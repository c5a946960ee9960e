/** Memory use of one process from /proc/PID/smaps_rollup, in bytes. */
export interface ProcessMemory {
  /** Resident set size. */
  rss: number;
  /** Proportional set size (shared pages split between their users). */
  pss: number;
  /** Private dirty pages. */
  privateDirty: number;
}

/** Parses the text of /proc/PID/smaps_rollup. */
export function parseSmapsRollup(text: string): ProcessMemory {
  const kb = (key: string): number | undefined => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(text);
    return m ? Number(m[1]) * 1024 : undefined;
  };
  const rss = kb("Rss");
  const pss = kb("Pss");
  if (rss === undefined || pss === undefined) {
    throw new Error(
      `Cannot parse smaps_rollup: no Rss/Pss in ${
        JSON.stringify(text.slice(0, 80))
      }`,
    );
  }
  return { rss, pss, privateDirty: kb("Private_Dirty") ?? 0 };
}

/** Reads the memory use of a process (needs read access to /proc/PID). */
export async function readProcessMemory(pid: number): Promise<ProcessMemory> {
  return parseSmapsRollup(
    await Deno.readTextFile(`/proc/${pid}/smaps_rollup`),
  );
}
