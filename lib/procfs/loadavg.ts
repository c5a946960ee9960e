/** Load averages from /proc/loadavg. */
export interface LoadAvg {
  /** Over 1 minute. */
  load1: number;
  /** Over 5 minutes. */
  load5: number;
  /** Over 15 minutes. */
  load15: number;
}

/** Parses the text of /proc/loadavg ("0.64 0.32 0.15 3/98 9232"). */
export function parseLoadavg(text: string): LoadAvg {
  const parts = text.trim().split(/\s+/);
  const nums = parts.slice(0, 3).map(Number);
  if (nums.length !== 3 || nums.some((n) => !Number.isFinite(n) || n < 0)) {
    throw new Error(`Cannot parse loadavg ${JSON.stringify(text.trim())}`);
  }
  return { load1: nums[0], load5: nums[1], load15: nums[2] };
}

/** Reads and parses /proc/loadavg. */
export async function readLoadavg(path = "/proc/loadavg"): Promise<LoadAvg> {
  return parseLoadavg(await Deno.readTextFile(path));
}
