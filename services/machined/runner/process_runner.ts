import { findExecutable } from "../../../lib/exec/mod.ts";
import type { Logger } from "../../../lib/log/mod.ts";
import { type ProcessIdentity, setprivArgs } from "../../../lib/layout/mod.ts";

/** What to run. */
export interface ProcessSpec {
  /** Program path. */
  command: string;
  /** Its arguments. */
  args: string[];
  /** The whole environment of the child (nothing is inherited). */
  env: Record<string, string>;
  /** Working directory. */
  cwd?: string;
  /** Written to stdin, which is then closed (secrets travel this way). */
  stdin?: Uint8Array;
  /** Who it runs as (default: machined's own identity). */
  identity?: ProcessIdentity;
}

/** How a process ended. */
export interface ExitStatus {
  /** Exit code (128+n when killed by signal n). */
  code: number;
  /** The signal that killed it, if any. */
  signal: string | null;
}

/** Which stream a captured line came from. */
export type OutputStream = "stdout" | "stderr";

/** A started process. */
export interface RunningProcess {
  /** Its pid (also its process group id when grouped). */
  readonly pid: number;
  /** Resolves when it exited and its output was read. */
  readonly exited: Promise<ExitStatus>;
  /** SIGTERM to the group, SIGKILL after `graceMs`; resolves on exit. */
  stop(graceMs: number): Promise<ExitStatus>;
}

/** Starts processes; the service runner's only view of how. */
export interface ProcessRunner {
  /** Starts a process, calling `onLine` for each line of its output. */
  start(
    spec: ProcessSpec,
    onLine: (line: string, stream: OutputStream) => void,
  ): RunningProcess;
}

/** Options for {@linkcode GroupProcessRunner}. */
export interface GroupProcessRunnerOptions {
  /** setpriv path; null: none (default: looked up). */
  setpriv?: string | null;
  /** setsid path; null: none (default: looked up). */
  setsid?: string | null;
  /**
   * Whether every child gets PR_SET_PDEATHSIG=SIGKILL through setpriv
   * (default true). Without it setpriv is used only for children that run
   * under an identity of their own (PID 1, whose death ends the machine).
   */
  pdeathsig?: boolean;
  /** Where warnings go. */
  log?: Logger;
  /** Lines longer than this are split (characters; default 16 KiB). */
  maxLineChars?: number;
}

/**
 * Runs each child in its own session and process group (setsid) with
 * PR_SET_PDEATHSIG=SIGKILL (setpriv), so that a child dies with machined
 * even on SIGKILL, and stop() reaches every process of the group.
 */
export class GroupProcessRunner implements ProcessRunner {
  #prefix: string[];
  #setpriv: string | null;
  #setsid: string | null;
  #grouped: boolean;
  #maxLine: number;

  /** Looks up setpriv and setsid, warning when one is missing. */
  constructor(options: GroupProcessRunnerOptions = {}) {
    const setpriv = options.setpriv === undefined
      ? findExecutable("setpriv")
      : options.setpriv;
    const setsid = options.setsid === undefined
      ? findExecutable("setsid")
      : options.setsid;
    this.#prefix = [];
    this.#setpriv = setpriv ?? null;
    this.#setsid = setsid ?? null;
    const pdeathsig = options.pdeathsig ?? true;
    if (setpriv && pdeathsig) {
      this.#prefix.push(setpriv, "--pdeathsig", "SIGKILL", "--");
    } else if (pdeathsig) {
      options.log?.warn(
        "setpriv not found: children may outlive a killed machined",
        { install: "util-linux" },
      );
    }
    if (setsid) this.#prefix.push(setsid);
    else {
      options.log?.warn(
        "setsid not found: children share machined's process group",
        { install: "util-linux" },
      );
    }
    this.#grouped = Boolean(setsid);
    this.#maxLine = options.maxLineChars ?? 16 * 1024;
  }

  #identityPrefix(command: string, identity: ProcessIdentity): string[] {
    if (!this.#setpriv) {
      throw new Error(
        `Cannot start "${command}" as uid ${identity.uid}: setpriv not found`,
      );
    }
    return [
      this.#setpriv,
      ...setprivArgs(identity),
      "--pdeathsig",
      "SIGKILL",
      "--",
      ...(this.#setsid ? [this.#setsid] : []),
    ];
  }

  /** Whether children get their own process group. */
  get grouped(): boolean {
    return this.#grouped;
  }

  /** Starts a process; throws when it cannot be spawned. */
  start(
    spec: ProcessSpec,
    onLine: (line: string, stream: OutputStream) => void,
  ): RunningProcess {
    const argv = spec.identity
      ? [
        ...this.#identityPrefix(spec.command, spec.identity),
        spec.command,
        ...spec.args,
      ]
      : [...this.#prefix, spec.command, ...spec.args];
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(argv[0], {
        args: argv.slice(1),
        env: spec.env,
        clearEnv: true,
        cwd: spec.cwd,
        stdin: spec.stdin ? "piped" : "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (cause) {
      throw new Error(`Cannot start "${spec.command}"`, { cause });
    }
    const pid = child.pid;
    const grouped = this.#grouped;
    const stdinDone = spec.stdin ? writeAndClose(child, spec.stdin) : null;
    const readers = Promise.all([
      readLines(child.stdout, this.#maxLine, (l) => onLine(l, "stdout")),
      readLines(child.stderr, this.#maxLine, (l) => onLine(l, "stderr")),
    ]);
    const signalGroup = (sig: Deno.Signal) => {
      try {
        Deno.kill(grouped ? -pid : pid, sig);
      } catch {
        // already gone
      }
    };
    const exited = (async (): Promise<ExitStatus> => {
      const status = await child.status;
      // Sweep anything the leader left behind in its group.
      if (grouped) signalGroup("SIGKILL");
      await readers;
      await stdinDone;
      return { code: status.code, signal: status.signal ?? null };
    })();
    return {
      pid,
      exited,
      async stop(graceMs: number): Promise<ExitStatus> {
        signalGroup("SIGTERM");
        let timer: ReturnType<typeof setTimeout> | undefined;
        const forced = new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            signalGroup("SIGKILL");
            resolve();
          }, graceMs);
        });
        await Promise.race([exited, forced]);
        clearTimeout(timer);
        return await exited;
      },
    };
  }
}

async function writeAndClose(
  child: Deno.ChildProcess,
  data: Uint8Array,
): Promise<void> {
  const w = child.stdin.getWriter();
  try {
    await w.write(data);
    await w.close();
  } catch {
    // the child exited before reading: its exit status says why
    await w.abort().catch(() => {});
  }
}

/** Reads a byte stream as lines (split at `maxChars`), calling `onLine`. */
export async function readLines(
  stream: ReadableStream<Uint8Array>,
  maxChars: number,
  onLine: (line: string) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  let buf = "";
  const flush = (final: boolean) => {
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      onLine(buf.slice(0, nl).replace(/\r$/, ""));
      buf = buf.slice(nl + 1);
    }
    while (buf.length > maxChars) {
      onLine(buf.slice(0, maxChars));
      buf = buf.slice(maxChars);
    }
    if (final && buf.length) {
      onLine(buf);
      buf = "";
    }
  };
  try {
    for await (const chunk of stream) {
      buf += decoder.decode(chunk, { stream: true });
      flush(false);
    }
  } catch {
    // stream broke: keep what we have
  }
  buf += decoder.decode();
  flush(true);
}
