/**
 * The frame every Bronze daemon runs in: secrets on stdin, the bus, health,
 * signals and parent-death handling; the command line (parseFlags, and the
 * node flags --address and --hostname).
 * @module
 */
export { runDaemon } from "./run.ts";
export type { DaemonContext, HealthCheck, RunDaemonOptions } from "./run.ts";
export { parseSecrets, readSecrets } from "./secrets.ts";
export type { DaemonSecrets } from "./secrets.ts";
export {
  checkHostname,
  checkNodeFlags,
  NODE_FLAG_OPTIONS,
} from "./node_flags.ts";
export type { NodeFlags } from "./node_flags.ts";
export { parseFlags } from "./parse_flags.ts";
export { Readiness } from "./readiness.ts";
export { untilAborted } from "./until_aborted.ts";
export type {
  FlagSpec,
  FlagValue,
  ParsedFlags,
  ParseFlagsOptions,
} from "./parse_flags.ts";
