/**
 * Daemons as real processes for tests: `deno run --no-prompt` with exactly
 * the Deno flags a test grants, the secrets JSON on stdin, stderr collected,
 * health asked over the bus as machined asks it.
 * @module
 */
import {
  HealthRequest,
  HealthResponse,
} from "../lib/api/gen/machine/machine.ts";
import { type Bus, callTyped } from "../lib/bus/mod.ts";
import { type DaemonName, healthSubject } from "../lib/constants/mod.ts";
import { waitUntil } from "../lib/testing/mod.ts";
import { LIBRARY_ENV } from "../lib/layout/mod.ts";

/**
 * What @grpc/grpc-js reads at import (the generated API code loads it): the
 * GRPC_ names of machined's LIBRARY_ENV, the `--allow-env` list networkd's
 * and udevd's main.ts document.
 */
export const GRPC_ENV: string = LIBRARY_ENV.filter((k) => k.startsWith("GRPC_"))
  .join(",");

/** How a daemon is run. */
export interface DaemonCommandOptions {
  /** Deno flags before the script (permissions, --config); nothing else is granted. */
  denoFlags?: readonly string[];
  /** The daemon's own flags. */
  args?: readonly string[];
}

/** "host:port" of a nats:// URL, for `--allow-net`. */
export function natsHostPort(url: string): string {
  return new URL(url.replace("nats://", "http://")).host;
}

function daemonCommand(
  main: string,
  options: DaemonCommandOptions,
  stdin: "piped" | "null",
): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      ...(options.denoFlags ?? []),
      main,
      ...(options.args ?? []),
    ],
    stdin,
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  });
}

/** A daemon started by {@linkcode startDaemon}; disposing it stops it. */
export interface DaemonProcess extends AsyncDisposable {
  /** The process. */
  child: Deno.ChildProcess;
  /** Everything it wrote to stderr so far (JSON log lines). */
  stderr(): string;
  /** SIGTERM (once), waits for the exit; everything it wrote to stderr. */
  stop(): Promise<string>;
}

/** Options of {@linkcode startDaemon}. */
export interface StartDaemonOptions extends DaemonCommandOptions {
  /** The secrets object written to stdin as JSON ({bus, ...extra}). */
  secrets: unknown;
}

/** Spawns a daemon's `main` and hands it its secrets; does not wait for it. */
export async function startDaemon(
  main: string,
  options: StartDaemonOptions,
): Promise<DaemonProcess> {
  const child = daemonCommand(main, options, "piped").spawn();
  let log = "";
  const drained = (async () => {
    for await (
      const chunk of child.stderr.pipeThrough(new TextDecoderStream())
    ) {
      log += chunk;
    }
  })();
  let stopped: Promise<string> | undefined;
  const stop = (): Promise<string> =>
    stopped ??= (async () => {
      try {
        child.kill("SIGTERM");
      } catch {
        // already gone
      }
      await child.status;
      await drained;
      return log;
    })();
  try {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(JSON.stringify(options.secrets)));
    await w.close();
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    child,
    stderr: () => log,
    stop,
    [Symbol.asyncDispose]: async () => {
      await stop();
    },
  };
}

/** Runs a daemon with stdin closed until it exits (flag errors): code, stderr. */
export async function runDaemonToExit(
  main: string,
  options: DaemonCommandOptions,
): Promise<{ code: number; stderr: string }> {
  const out = await daemonCommand(main, options, "null").output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

/**
 * Asks `<daemon>.health` over `bus` until the daemon says healthy: that
 * answer, or the last one after 30 s.
 */
export async function waitForHealth(
  bus: Bus,
  daemon: DaemonName,
): Promise<HealthResponse> {
  // A daemon still starting answers "not healthy yet" (networkd before its
  // netlink socket is open): wait for a healthy answer, and after the
  // deadline give the last one, so a test's assertion shows what it said.
  let last: HealthResponse | undefined;
  try {
    return await waitUntil(async () => {
      last = await callTyped(
        bus,
        healthSubject(daemon),
        { req: HealthRequest, res: HealthResponse },
        {},
        { timeoutMs: 1000 },
      );
      return last.healthy ? last : undefined;
    }, { timeoutMs: 30000, what: `${daemon} health` });
  } catch (err) {
    if (last !== undefined) return last;
    throw err;
  }
}
