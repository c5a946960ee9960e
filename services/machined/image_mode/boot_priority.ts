/**
 * CPU priority while the node boots: the daemons the API does not need to
 * answer (udevd-lite, networkd, trustd) start in a cgroup with a low CPU
 * weight, so apid, nats and machined get the CPU first on a small (or
 * emulated) machine; when every service is up (or after a deadline) its
 * processes move back to the root cgroup and it is removed: nothing is held
 * back after the boot. The scheduler is work-conserving: a low weight only matters
 * while the CPU is contended. Measured under TCG on 2 vCPUs: boot to API
 * ~27 s -> ~21 s (image/README.md, Performance).
 * @module
 */
import {
  BUNDLE_DIR,
  DAEMON_DIRS,
  type SupervisedDaemon,
} from "../../../lib/layout/mod.ts";
import type {
  OutputStream,
  ProcessRunner,
  ProcessSpec,
  RunningProcess,
} from "../runner/process_runner.ts";

/** The cgroup v2 hierarchy machined mounts. */
export const CGROUP_ROOT = "/sys/fs/cgroup";
/** The cgroup (under the root) of the daemons that start behind the API. */
export const BOOT_LATER_CGROUP = "bronze-boot-later";
/** Daemons that start at a low CPU weight until the boot is over. */
export const BOOT_LATER_DAEMONS: readonly SupervisedDaemon[] = [
  "udevd",
  "networkd",
  "trustd",
];
/** cgroup v2 cpu.weight while booting (default 100; range 1-10000). */
export const BOOT_LATER_WEIGHT = 10;
/** The boot ends at the latest this long after the services start (ms). */
export const BOOT_PRIORITY_DEADLINE_MS = 60_000;
/** cgroup v2's default cpu.weight, restored after the boot. */
export const DEFAULT_CPU_WEIGHT = 100;

/** Whether `spec` runs one of {@linkcode BOOT_LATER_DAEMONS}' image bundles. */
export function startsBehindApi(spec: ProcessSpec): boolean {
  const scripts = BOOT_LATER_DAEMONS.map((d) =>
    `${BUNDLE_DIR}/${DAEMON_DIRS[d]}.js`
  );
  return spec.args.some((a) => scripts.includes(a));
}

/** The low-weight boot cgroup: set up, fill, and restore. */
export class BootPriority {
  #root: string;
  #dir: string;
  #restored = false;

  private constructor(root: string) {
    this.#root = root;
    this.#dir = `${root}/${BOOT_LATER_CGROUP}`;
  }

  /**
   * Enables the cpu controller under `root`, makes the boot cgroup and sets
   * its low weight; throws saying which step failed.
   */
  static setup(root: string = CGROUP_ROOT): BootPriority {
    const dir = `${root}/${BOOT_LATER_CGROUP}`;
    const write = (file: string, text: string) => {
      try {
        Deno.writeTextFileSync(file, text);
      } catch (cause) {
        throw new Error(
          `Cannot write ${JSON.stringify(text)} to ${JSON.stringify(file)}`,
          { cause },
        );
      }
    };
    write(`${root}/cgroup.subtree_control`, "+cpu");
    try {
      Deno.mkdirSync(dir);
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) {
        throw new Error(`Cannot create cgroup ${JSON.stringify(dir)}`, {
          cause: err,
        });
      }
    }
    write(`${dir}/cpu.weight`, String(BOOT_LATER_WEIGHT));
    return new BootPriority(root);
  }

  /** Whether the boot is over (processes start in the root cgroup again). */
  get restored(): boolean {
    return this.#restored;
  }

  /**
   * Moves `pid` into the boot cgroup; false when the boot is over or it
   * could not (the process exited).
   */
  demote(pid: number): boolean {
    if (this.#restored) return false;
    try {
      Deno.writeTextFileSync(`${this.#dir}/cgroup.procs`, String(pid));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Ends the boot (idempotent): the default weight, the processes back in
   * the root cgroup, the boot cgroup removed. Returns what could not be done.
   */
  restore(): string[] {
    if (this.#restored) return [];
    this.#restored = true;
    const problems: string[] = [];
    const attempt = (what: string, f: () => void) => {
      try {
        f();
      } catch (err) {
        problems.push(`${what}: ${err instanceof Error ? err.message : err}`);
      }
    };
    attempt("weight", () =>
      Deno.writeTextFileSync(
        `${this.#dir}/cpu.weight`,
        String(DEFAULT_CPU_WEIGHT),
      ));
    let pids: string[] = [];
    attempt("list", () => {
      pids = Deno.readTextFileSync(`${this.#dir}/cgroup.procs`).split("\n")
        .filter((l) => /^\d+$/.test(l));
    });
    for (const pid of pids) {
      // A process that exited meanwhile is no problem.
      try {
        Deno.writeTextFileSync(`${this.#root}/cgroup.procs`, pid);
      } catch { /* gone */ }
    }
    attempt("remove", () => Deno.removeSync(this.#dir));
    return problems;
  }
}

/**
 * A ProcessRunner that puts the processes of {@linkcode BOOT_LATER_DAEMONS}
 * into the boot cgroup as they start.
 */
export class BootPriorityRunner implements ProcessRunner {
  #inner: ProcessRunner;
  #priority: BootPriority;

  /** Wraps `inner`. */
  constructor(inner: ProcessRunner, priority: BootPriority) {
    this.#inner = inner;
    this.#priority = priority;
  }

  /** Starts a process; demotes it when it starts behind the API. */
  start(
    spec: ProcessSpec,
    onLine: (line: string, stream: OutputStream) => void,
  ): RunningProcess {
    const p = this.#inner.start(spec, onLine);
    if (startsBehindApi(spec)) this.#priority.demote(p.pid);
    return p;
  }
}
