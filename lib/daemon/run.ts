import { Bus, type HandlerContext } from "../bus/mod.ts";
import {
  type DaemonName,
  healthNoticeSubject,
  healthSubject,
} from "../constants/mod.ts";
import { HealthRequest, HealthResponse } from "../api/gen/machine/machine.ts";
import { serveTyped } from "../bus/mod.ts";
import { createLogger, errorText, type Logger } from "../log/mod.ts";
import { type DaemonSecrets, readSecrets } from "./secrets.ts";
import type { Readiness } from "./readiness.ts";

/** What a daemon's run function gets. */
export interface DaemonContext {
  /** The daemon's bus connection. */
  bus: Bus;
  /** The daemon's logger (component = its name). */
  log: Logger;
  /** Aborted on SIGTERM/SIGINT or when the parent dies. */
  signal: AbortSignal;
  /** Secrets from stdin. */
  secrets: DaemonSecrets;
}

/** A daemon's own view of its health, answered on `<daemon>.health`. */
export type HealthCheck = () => Promise<{ healthy: boolean; message: string }>;

/** Options for {@linkcode runDaemon}. */
export interface RunDaemonOptions {
  /** Health beyond "answers on the bus"; healthy by default. */
  health?: HealthCheck;
  /**
   * The daemon's readiness as its health (instead of `health`): machined
   * is told each time it changes, and checks at once.
   */
  readiness?: Readiness;
  /** How long shutdown may take before the process exits anyway (ms). */
  shutdownGraceMs?: number;
}

/**
 * Runs a daemon: reads its secrets from stdin, connects to the bus, answers
 * health requests, stops on SIGTERM/SIGINT or when its parent goes away, and
 * exits the process with 0 after `main` returns (1 if it throws).
 */
export async function runDaemon(
  name: DaemonName,
  main: (ctx: DaemonContext) => Promise<void>,
  options: RunDaemonOptions = {},
): Promise<never> {
  // How long the runtime took to get here (its start and the bundle's load).
  const loadedMs = Math.round(performance.now());
  const log = createLogger(name);
  const ac = new AbortController();
  const stop = () => ac.abort();
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);
  const parent = Deno.ppid;
  // Belt and braces beside PR_SET_PDEATHSIG: a daemon never outlives machined.
  const orphanWatch = setInterval(() => {
    if (Deno.ppid !== parent) {
      log.warn("parent went away, stopping", { parent });
      ac.abort();
    }
  }, 1000);
  let code = 0;
  let bus: Bus | undefined;
  try {
    const secrets = await readSecrets(name);
    bus = await Bus.connect(secrets.bus, {
      onStatus: (event, data) => {
        if (event !== "ping") log.info("bus status", { event, data });
      },
    });
    const check = options.readiness?.check ?? options.health ??
      (() => Promise.resolve({ healthy: true, message: "" }));
    serveTyped(
      bus,
      healthSubject(name),
      { req: HealthRequest, res: HealthResponse },
      async (_req: HealthRequest, _ctx: HandlerContext) => {
        const h = await check();
        return { service: name, healthy: h.healthy, message: h.message };
      },
    );
    await bus.flush();
    // Tell machined to ask now, and again whenever readiness changes.
    const notice = healthNoticeSubject(name);
    const announce = () => bus?.publish(notice, new Uint8Array(0));
    announce();
    options.readiness?.onChange(announce);
    log.info("started", {
      pid: Deno.pid,
      loadedMs,
      startedMs: Math.round(performance.now()),
    });
    await main({ bus, log, signal: ac.signal, secrets });
    log.info("stopped");
  } catch (err) {
    code = 1;
    log.error("failed", { error: errorText(err) });
  } finally {
    clearInterval(orphanWatch);
    const grace = setTimeout(
      () => Deno.exit(code || 1),
      options.shutdownGraceMs ?? 5000,
    );
    await bus?.close().catch(() => {});
    clearTimeout(grace);
  }
  Deno.exit(code);
}
