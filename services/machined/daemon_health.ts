/**
 * The daemons' health as machined learns it: asked over the bus (each
 * daemon answers on its health subject), and checked at once when a daemon
 * announces that its health may have changed.
 * @module
 */
import {
  HealthRequest,
  HealthResponse,
} from "../../lib/api/gen/machine/machine.ts";
import { type Bus, callTyped } from "../../lib/bus/mod.ts";
import {
  HEALTH_NOTICES,
  healthNoticeDaemon,
  healthSubject,
} from "../../lib/constants/mod.ts";
import type { DaemonName } from "../../lib/constants/mod.ts";
import { errorText, type Logger } from "../../lib/log/mod.ts";

/** Asks a daemon's health over `bus`; throws when unhealthy or unreachable. */
export async function daemonHealth(
  bus: Bus | undefined,
  daemon: DaemonName,
  signal: AbortSignal,
): Promise<void> {
  if (!bus) throw new Error("machined is not on the bus yet");
  const res = await callTyped(
    bus,
    healthSubject(daemon),
    { req: HealthRequest, res: HealthResponse },
    {},
    { timeoutMs: 2000, signal },
  );
  if (!res.healthy) throw new Error(res.message || "unhealthy");
}

/** Calls `poke` with each daemon that announces a health change. */
export function followHealthNotices(
  bus: Bus,
  poke: (daemon: DaemonName) => void,
  log: Logger,
  signal: AbortSignal,
): void {
  (async () => {
    for await (const m of bus.subscribe(HEALTH_NOTICES, { signal })) {
      const daemon = healthNoticeDaemon(m.subject);
      if (daemon !== undefined) poke(daemon);
    }
  })().catch((err) => {
    if (!signal.aborted) {
      log.warn("health notices stopped", { error: errorText(err) });
    }
  });
}
