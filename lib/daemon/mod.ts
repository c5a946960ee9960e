/**
 * The frame every Bronze daemon runs in: secrets on stdin, the bus, health,
 * signals and parent-death handling.
 * @module
 */
export { runDaemon } from "./run.ts";
export type { DaemonContext, HealthCheck, RunDaemonOptions } from "./run.ts";
export { parseSecrets, readSecrets } from "./secrets.ts";
export type { DaemonSecrets } from "./secrets.ts";
