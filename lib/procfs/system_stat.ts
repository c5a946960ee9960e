/**
 * /proc/stat as Talos reports it (prometheus procfs): CPU times in seconds
 * (ticks over USER_HZ), interrupts, context switches, processes, softirqs.
 * @module
 */

/** Kernel clock ticks per second of /proc/stat (USER_HZ, 100 on Linux). */
export const USER_HZ = 100;

/** One CPU's (or all CPUs') time, in seconds. */
export interface CpuTimes {
  /** Time in user mode. */
  user: number;
  /** Time in user mode at low priority. */
  nice: number;
  /** Time in kernel mode. */
  system: number;
  /** Idle time. */
  idle: number;
  /** Waiting for I/O. */
  iowait: number;
  /** Servicing interrupts. */
  irq: number;
  /** Servicing softirqs. */
  softIrq: number;
  /** Stolen by the hypervisor. */
  steal: number;
  /** Running guests. */
  guest: number;
  /** Running niced guests. */
  guestNice: number;
}

/** Softirq counts by kind. */
export interface SoftIrqCounts {
  /** HI. */
  hi: number;
  /** TIMER. */
  timer: number;
  /** NET_TX. */
  netTx: number;
  /** NET_RX. */
  netRx: number;
  /** BLOCK. */
  block: number;
  /** IRQ_POLL. */
  blockIoPoll: number;
  /** TASKLET. */
  tasklet: number;
  /** SCHED. */
  sched: number;
  /** HRTIMER. */
  hrtimer: number;
  /** RCU. */
  rcu: number;
}

/** /proc/stat, parsed. */
export interface SystemStatInfo {
  /** Boot time, seconds since the epoch. */
  bootTime: number;
  /** All CPUs together. */
  cpuTotal: CpuTimes;
  /** Each CPU, by number. */
  cpu: CpuTimes[];
  /** Interrupts serviced. */
  irqTotal: number;
  /** Interrupts serviced, per interrupt number. */
  irq: number[];
  /** Context switches. */
  contextSwitches: number;
  /** Processes (forks) since boot. */
  processCreated: number;
  /** Runnable processes. */
  processRunning: number;
  /** Processes blocked on I/O. */
  processBlocked: number;
  /** Softirqs serviced. */
  softIrqTotal: number;
  /** Softirqs by kind. */
  softIrq: SoftIrqCounts;
}

function cpuTimes(fields: string[], where: string): CpuTimes {
  const n = fields.map((f) => {
    const v = Number(f);
    if (!/^\d+$/.test(f)) {
      throw new Error(
        `Cannot parse /proc/stat: ${where} has ${JSON.stringify(f)}`,
      );
    }
    return v / USER_HZ;
  });
  const at = (i: number) => n[i] ?? 0;
  return {
    user: at(0),
    nice: at(1),
    system: at(2),
    idle: at(3),
    iowait: at(4),
    irq: at(5),
    softIrq: at(6),
    steal: at(7),
    guest: at(8),
    guestNice: at(9),
  };
}

function count(value: string | undefined, where: string): number {
  if (value === undefined || !/^\d+$/.test(value)) {
    throw new Error(
      `Cannot parse /proc/stat: ${where} is ${JSON.stringify(value ?? "")}`,
    );
  }
  return Number(value);
}

/** Parses the text of /proc/stat. */
export function parseSystemStat(text: string): SystemStatInfo {
  const zero = cpuTimes([], "cpu");
  const out: SystemStatInfo = {
    bootTime: 0,
    cpuTotal: zero,
    cpu: [],
    irqTotal: 0,
    irq: [],
    contextSwitches: 0,
    processCreated: 0,
    processRunning: 0,
    processBlocked: 0,
    softIrqTotal: 0,
    softIrq: {
      hi: 0,
      timer: 0,
      netTx: 0,
      netRx: 0,
      block: 0,
      blockIoPoll: 0,
      tasklet: 0,
      sched: 0,
      hrtimer: 0,
      rcu: 0,
    },
  };
  let sawCpu = false;
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    const key = f[0];
    if (!key) continue;
    if (key === "cpu") {
      out.cpuTotal = cpuTimes(f.slice(1), "cpu");
      sawCpu = true;
    } else if (/^cpu\d+$/.test(key)) {
      out.cpu[Number(key.slice(3))] = cpuTimes(f.slice(1), key);
    } else if (key === "intr") {
      out.irqTotal = count(f[1], "intr");
      out.irq = f.slice(2).map((v) => count(v, "intr"));
    } else if (key === "ctxt") out.contextSwitches = count(f[1], key);
    else if (key === "btime") out.bootTime = count(f[1], key);
    else if (key === "processes") out.processCreated = count(f[1], key);
    else if (key === "procs_running") out.processRunning = count(f[1], key);
    else if (key === "procs_blocked") out.processBlocked = count(f[1], key);
    else if (key === "softirq") {
      const s = f.slice(1).map((v) => count(v, "softirq"));
      out.softIrqTotal = s[0] ?? 0;
      const kinds = [
        "hi",
        "timer",
        "netTx",
        "netRx",
        "block",
        "blockIoPoll",
        "tasklet",
        "sched",
        "hrtimer",
        "rcu",
      ] as const;
      kinds.forEach((k, i) => (out.softIrq[k] = s[i + 1] ?? 0));
    }
  }
  if (!sawCpu) {
    throw new Error(
      `Cannot parse /proc/stat: no "cpu" line in ${
        JSON.stringify(text.slice(0, 60))
      }`,
    );
  }
  // Offline CPUs leave holes; they report zero, as procfs's slice does.
  for (let i = 0; i < out.cpu.length; i++) out.cpu[i] ??= zero;
  return out;
}

/** Reads and parses /proc/stat. */
export async function readSystemStat(
  path = "/proc/stat",
): Promise<SystemStatInfo> {
  return parseSystemStat(await Deno.readTextFile(path));
}
