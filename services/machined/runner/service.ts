import type { BackoffOptions } from "./backoff.ts";
import type { HealthCheck, HealthSettings } from "./health.ts";
import type { ProcessSpec } from "./process_runner.ts";

/** A supervised service, as machined declares it. */
export interface ServiceSpec {
  /** Service id ("nats", "apid", ...). */
  id: string;
  /** Services that must be up before this one starts. */
  dependsOn?: string[];
  /** A reason to skip this service on this node; undefined to run it. */
  condition?: () => string | undefined;
  /** Runs before every start (e.g. certificates); throw to fail the start. */
  prepare?: (signal: AbortSignal) => Promise<void>;
  /** The process to run, made fresh for every start (fresh secrets). */
  process: () => ProcessSpec | Promise<ProcessSpec>;
  /** Health check beyond "the process is alive". */
  health?: HealthCheck;
  /** Health timing; defaults from DEFAULT_HEALTH. */
  healthSettings?: Partial<HealthSettings>;
  /** SIGTERM to SIGKILL grace on stop (ms); default 10000. */
  graceMs?: number;
  /** Restart backoff; defaults from DEFAULT_BACKOFF. */
  backoff?: BackoffOptions;
}
