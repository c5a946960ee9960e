/**
 * Readers of /proc: memory, load, per-process memory and the process table.
 * @module
 */
export { parseMeminfo, readMeminfo } from "./meminfo.ts";
export type { MemInfo } from "./meminfo.ts";
export { parseLoadavg, readLoadavg } from "./loadavg.ts";
export type { LoadAvg } from "./loadavg.ts";
export { parseSmapsRollup, readProcessMemory } from "./smaps_rollup.ts";
export type { ProcessMemory } from "./smaps_rollup.ts";
export { listProcesses, parseStat, readProcess } from "./processes.ts";
export type { ProcessEntry } from "./processes.ts";
