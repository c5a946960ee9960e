/**
 * The process table for the Processes API: /proc/PID/stat, cmdline, exe and
 * smaps_rollup of every process, tagged with the service it belongs to.
 * @module
 */
import type { ProcessInfo } from "../../lib/api/gen/machine/machine.ts";
import { parseSmapsRollup } from "../../lib/procfs/mod.ts";

/** Clock ticks per second of /proc/PID/stat times (USER_HZ on Linux). */
const CLK_TCK = 100;
/** Page size for the rss field of /proc/PID/stat. */
const PAGE_BYTES = 4096;
/** At most this many processes are reported. */
const MAX_PROCESSES = 10_000;

/** Parses /proc/PID/stat into the ProcessInfo fields it holds. */
export function parseProcessStat(
  text: string,
): Pick<
  ProcessInfo,
  | "pid"
  | "ppid"
  | "state"
  | "threads"
  | "cpuTime"
  | "virtualMemory"
  | "residentMemory"
  | "command"
> {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) {
    throw new Error(
      `Cannot parse /proc stat ${JSON.stringify(text.slice(0, 60))}`,
    );
  }
  const f = text.slice(close + 2).trim().split(" ");
  const num = (i: number) => Number(f[i] ?? 0);
  if (f.length < 22) {
    throw new Error(
      `Cannot parse /proc stat ${
        JSON.stringify(text.slice(0, 60))
      }: ${f.length} fields after the command`,
    );
  }
  return {
    pid: Number(text.slice(0, open).trim()),
    command: text.slice(open + 1, close),
    state: f[0],
    ppid: num(1),
    cpuTime: (num(11) + num(12)) / CLK_TCK,
    threads: num(17),
    virtualMemory: num(20),
    residentMemory: num(21) * PAGE_BYTES,
  };
}

async function optional<T>(f: () => Promise<T>, fallback: T): Promise<T> {
  try {
    return await f();
  } catch {
    return fallback; // exited meanwhile, a kernel thread, or not ours to read
  }
}

/** Who a process runs as, from the text of /proc/PID/status. */
export function parseStatusIdentity(text: string): {
  uid: number;
  gid: number;
  capabilitiesEffective: number;
  noNewPrivs: boolean;
} {
  const field = (name: string): string | undefined =>
    new RegExp(`^${name}:\\s*(.*)$`, "m").exec(text)?.[1]?.trim();
  const firstId = (name: string): number => {
    const v = Number(field(name)?.split(/\s+/)[0]);
    if (!Number.isInteger(v) || v < 0) {
      throw new Error(`Cannot parse ${name} in /proc status`);
    }
    return v;
  };
  const cap = field("CapEff");
  if (cap === undefined || !/^[0-9a-f]{1,16}$/.test(cap)) {
    throw new Error("Cannot parse CapEff in /proc status");
  }
  return {
    uid: firstId("Uid"),
    gid: firstId("Gid"),
    // Capability numbers stay far below 53 bits.
    capabilitiesEffective: parseInt(cap, 16),
    noNewPrivs: field("NoNewPrivs") === "1",
  };
}

/**
 * Every process of the machine (kernel threads included, as Talos lists
 * them), with `services` mapping pids to service ids.
 */
export async function listProcessInfo(
  services: ReadonlyMap<number, string>,
  procRoot = "/proc",
): Promise<ProcessInfo[]> {
  const out: ProcessInfo[] = [];
  for await (const e of Deno.readDir(procRoot)) {
    if (!/^\d+$/.test(e.name)) continue;
    if (out.length >= MAX_PROCESSES) break;
    const dir = `${procRoot}/${e.name}`;
    const stat = await optional(
      async () => parseProcessStat(await Deno.readTextFile(`${dir}/stat`)),
      undefined,
    );
    if (!stat) continue;
    const argv = (await optional(
      () => Deno.readTextFile(`${dir}/cmdline`),
      "",
    )).split("\0").filter((a, i, all) => !(a === "" && i === all.length - 1));
    const executable = await optional(() => Deno.readLink(`${dir}/exe`), "");
    const pss = await optional(
      async () =>
        parseSmapsRollup(await Deno.readTextFile(`${dir}/smaps_rollup`)).pss,
      0,
    );
    const identity = await optional(
      async () => parseStatusIdentity(await Deno.readTextFile(`${dir}/status`)),
      { uid: 0, gid: 0, capabilitiesEffective: 0, noNewPrivs: false },
    );
    out.push({
      ...stat,
      executable,
      args: argv.join(" "),
      proportionalMemory: pss,
      service: services.get(stat.pid) ?? "",
      ...identity,
    });
  }
  return out.sort((a, b) => a.pid - b.pid);
}
