/** Memory figures from /proc/meminfo, in bytes. */
export interface MemInfo {
  /** MemTotal. */
  memTotal: number;
  /** MemFree. */
  memFree: number;
  /** MemAvailable. */
  memAvailable: number;
  /** Buffers. */
  buffers: number;
  /** Cached. */
  cached: number;
  /** Shmem. */
  shmem: number;
}

const FIELDS: Readonly<Record<string, keyof MemInfo>> = {
  MemTotal: "memTotal",
  MemFree: "memFree",
  MemAvailable: "memAvailable",
  Buffers: "buffers",
  Cached: "cached",
  Shmem: "shmem",
};

/** Parses the text of /proc/meminfo ("Key:   123 kB" lines). */
export function parseMeminfo(text: string): MemInfo {
  const out: MemInfo = {
    memTotal: 0,
    memFree: 0,
    memAvailable: 0,
    buffers: 0,
    cached: 0,
    shmem: 0,
  };
  let seen = 0;
  for (const line of text.split("\n")) {
    const m = /^(\w+):\s+(\d+)(?:\s+kB)?\s*$/.exec(line);
    if (!m) continue;
    const key = FIELDS[m[1]];
    if (!key) continue;
    out[key] = Number(m[2]) * (line.trimEnd().endsWith("kB") ? 1024 : 1);
    seen++;
  }
  if (!seen || out.memTotal === 0) {
    throw new Error(
      `Cannot parse meminfo: no MemTotal in ${
        JSON.stringify(text.slice(0, 80))
      }`,
    );
  }
  return out;
}

/** Reads and parses /proc/meminfo. */
export async function readMeminfo(path = "/proc/meminfo"): Promise<MemInfo> {
  return parseMeminfo(await Deno.readTextFile(path));
}
