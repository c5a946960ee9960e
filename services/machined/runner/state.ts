/** Service states, as Talos names them. */
export type ServiceState =
  | "Initialized"
  | "Preparing"
  | "Waiting"
  | "Starting"
  | "Running"
  | "Stopping"
  | "Finished"
  | "Failed"
  | "Skipped";

/** Every service state. */
export const SERVICE_STATES: readonly ServiceState[] = [
  "Initialized",
  "Preparing",
  "Waiting",
  "Starting",
  "Running",
  "Stopping",
  "Finished",
  "Failed",
  "Skipped",
];

/** The health of a running service. */
export interface HealthStatus {
  /** No check has finished since the service (re)started. */
  unknown: boolean;
  /** The last check passed. */
  healthy: boolean;
  /** The last check's message (empty when healthy). */
  lastMessage: string;
  /** When healthy/unhealthy last flipped (ms since the epoch, 0: never). */
  lastChange: number;
}

/** Health before any check: unknown. */
export function unknownHealth(): HealthStatus {
  return { unknown: true, healthy: false, lastMessage: "", lastChange: 0 };
}

/**
 * "Up" as dependents see it: Running and healthy (or without a health
 * check), or Skipped.
 */
export function isUp(
  state: ServiceState,
  health: HealthStatus,
  hasHealthCheck: boolean,
): boolean {
  if (state === "Skipped") return true;
  if (state !== "Running") return false;
  return !hasHealthCheck || (!health.unknown && health.healthy);
}

/** "Down": not running and not about to be. */
export function isDown(state: ServiceState): boolean {
  return state === "Finished" || state === "Failed" || state === "Skipped" ||
    state === "Initialized";
}
