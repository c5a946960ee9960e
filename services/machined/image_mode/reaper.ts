/**
 * PID 1's duty to reap orphans: processes reparented to machined that have
 * exited (zombies) and that machined did not start itself. machined's own
 * children are reaped by Deno (waitpid on their pid); reaping them here
 * would steal their exit status, so they are skipped, and an unknown zombie
 * is reaped only when it is still a zombie on the next scan.
 * @module
 */
import { parseStat } from "../../../lib/procfs/mod.ts";
import type {
  OutputStream,
  ProcessRunner,
  ProcessSpec,
  RunningProcess,
} from "../runner/process_runner.ts";

/** A ProcessRunner that remembers which of its children are still alive. */
export class TrackingRunner implements ProcessRunner {
  #inner: ProcessRunner;
  #live = new Set<number>();

  /** Wraps `inner`. */
  constructor(inner: ProcessRunner) {
    this.#inner = inner;
  }

  /** Starts a process and tracks its pid until its exit is collected. */
  start(
    spec: ProcessSpec,
    onLine: (line: string, stream: OutputStream) => void,
  ): RunningProcess {
    const p = this.#inner.start(spec, onLine);
    this.#live.add(p.pid);
    p.exited.finally(() => this.#live.delete(p.pid));
    return p;
  }

  /** Whether `pid` is a child this runner started and has not collected. */
  owns(pid: number): boolean {
    return this.#live.has(pid);
  }
}

/** What the reaper needs from the system (tests pass fakes). */
export interface ReaperSystem {
  /** Pids of zombie processes whose parent is this process. */
  zombieChildren(): number[];
  /** waitpid(pid, WNOHANG): the status word, or undefined. */
  reap(pid: number): number | undefined;
}

/** Options for {@linkcode OrphanReaper}. */
export interface ReaperOptions {
  /** Children that are not orphans (Deno reaps them). */
  owns: (pid: number) => boolean;
  /** Called for each orphan reaped. */
  onReaped?: (pid: number, status: number) => void;
}

/** Reaps zombie orphans, one scan at a time. */
export class OrphanReaper {
  #sys: ReaperSystem;
  #o: ReaperOptions;
  #seen = new Set<number>();
  #reaped = 0;

  /** Makes a reaper. */
  constructor(sys: ReaperSystem, options: ReaperOptions) {
    this.#sys = sys;
    this.#o = options;
  }

  /** How many orphans were reaped so far. */
  get reaped(): number {
    return this.#reaped;
  }

  /** One scan: reaps zombies seen on the previous scan too; returns their pids. */
  scan(): number[] {
    const now = new Set(
      this.#sys.zombieChildren().filter((pid) => !this.#o.owns(pid)),
    );
    const done: number[] = [];
    for (const pid of now) {
      if (!this.#seen.has(pid)) continue;
      const status = this.#sys.reap(pid);
      if (status !== undefined) {
        done.push(pid);
        this.#reaped++;
        this.#o.onReaped?.(pid, status);
      }
    }
    this.#seen = new Set([...now].filter((p) => !done.includes(p)));
    return done;
  }

  /**
   * Scans every `intervalMs` and shortly after each SIGCHLD, until `signal`
   * aborts.
   */
  async run(signal: AbortSignal, intervalMs = 2000): Promise<void> {
    let wake: (() => void) | undefined;
    const later = new Set<ReturnType<typeof setTimeout>>();
    const poke = () => {
      // A second scan shortly after SIGCHLD collects a zombie seen once.
      const id = setTimeout(() => {
        later.delete(id);
        wake?.();
      }, 300);
      later.add(id);
      wake?.();
    };
    const onAbort = () => wake?.();
    signal.addEventListener("abort", onAbort, { once: true });
    Deno.addSignalListener("SIGCHLD", poke);
    try {
      while (!signal.aborted) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, intervalMs);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
        if (!signal.aborted) this.scan();
      }
    } finally {
      Deno.removeSignalListener("SIGCHLD", poke);
      signal.removeEventListener("abort", onAbort);
      for (const id of later) clearTimeout(id);
    }
  }
}

/**
 * Zombie children of `parent`, from /proc: the children each of its threads
 * has (`task/TID/children`, CONFIG_PROC_CHILDREN), then those children's
 * stat ("pid (comm) Z ppid"). A handful of small reads, where scanning all
 * of /proc under QEMU TCG cost PID 1 a tenth of its CPU during boot. Falls
 * back to scanning every process when the children files are missing.
 */
export function procZombieChildren(
  parent: number,
  procRoot = "/proc",
): number[] {
  const children = childPids(parent, procRoot);
  const candidates = children ?? allPids(procRoot);
  const out: number[] = [];
  for (const pid of candidates) {
    try {
      const stat = parseStat(
        Deno.readTextFileSync(`${procRoot}/${pid}/stat`),
      );
      if (stat.state === "Z" && stat.ppid === parent) out.push(pid);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** The children of every thread of `parent`, or undefined without the files. */
function childPids(parent: number, procRoot: string): Set<number> | undefined {
  let tasks: Deno.DirEntry[];
  try {
    tasks = [...Deno.readDirSync(`${procRoot}/${parent}/task`)];
  } catch {
    return undefined;
  }
  const out = new Set<number>();
  for (const t of tasks) {
    let text: string;
    try {
      text = Deno.readTextFileSync(
        `${procRoot}/${parent}/task/${t.name}/children`,
      );
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) {
        // The thread ended meanwhile, or the kernel has no children files.
        if (t.name === String(parent)) return undefined;
        continue;
      }
      return undefined;
    }
    for (const word of text.split(" ")) {
      if (/^\d+$/.test(word)) out.add(Number(word));
    }
  }
  return out;
}

function allPids(procRoot: string): number[] {
  try {
    return [...Deno.readDirSync(procRoot)]
      .filter((e) => /^\d+$/.test(e.name))
      .map((e) => Number(e.name));
  } catch {
    return [];
  }
}
