/**
 * Readers of /proc: memory, load, per-process memory, the process table,
 * CPU times and info, disk and network counters, sockets and mounts.
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
export { parseSystemStat, readSystemStat, USER_HZ } from "./system_stat.ts";
export type { CpuTimes, SoftIrqCounts, SystemStatInfo } from "./system_stat.ts";
export { parseCpuInfo, readCpuInfo } from "./cpuinfo.ts";
export type { CpuInfoRecord } from "./cpuinfo.ts";
export { parseDiskStats, parseNetDev } from "./io_stats.ts";
export type { DiskStatRecord, NetDevRecord } from "./io_stats.ts";
export {
  parseHexAddress,
  parseMounts,
  parseSocketTable,
  readSocketTable,
  SOCKET_PROTOS,
  socketOwners,
} from "./net_sockets.ts";
export type { MountRecord, SocketProto, SocketRecord } from "./net_sockets.ts";
