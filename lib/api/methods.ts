/**
 * The one table of MachineService's methods: which daemon serves each on the
 * bus, who may call it, whether it changes the node (audited), whether it
 * answers with a stream, and whether a node in maintenance mode serves it.
 * apid's routing and role checks, the daemons' handler registration
 * (lib/api/serve.ts) and maintenance mode all read it; a test checks it
 * against the generated service definition.
 *
 * This module loads no message codecs: apid passes bodies through as bytes,
 * and the codecs would cost it ~1.3 MiB of memory.
 * @module
 */
import type { DaemonName, Role } from "../constants/mod.ts";

/** What the table says about one method. */
export interface MethodSpec {
  /** The daemon that serves it on the bus. */
  owner: DaemonName;
  /** Roles allowed to call it (any one suffices). */
  roles: readonly Role[];
  /** Changes the node (audited). */
  mutating: boolean;
  /** Answers with a stream of messages. */
  stream: boolean;
  /** Served by a node in maintenance mode (no machine config yet). */
  maintenance: boolean;
  /**
   * Other gRPC paths apid serves it at, with the same messages: Talos's,
   * where Talos has the method in another service.
   */
  alsoAt?: readonly string[];
}

const READERS = ["os:admin", "os:operator", "os:reader"] as const;
const OPERATORS = ["os:admin", "os:operator"] as const;
const ADMINS = ["os:admin"] as const;

const READ = {
  roles: READERS,
  mutating: false,
  stream: false,
  maintenance: false,
} as const;
const READ_STREAM = { ...READ, stream: true } as const;
// Reads what may hold secrets (files): admins only, though nothing changes.
const ADMIN_READ_STREAM = { ...READ_STREAM, roles: ADMINS } as const;
const OPERATE = {
  roles: OPERATORS,
  mutating: true,
  stream: false,
  maintenance: false,
} as const;
const ADMIN = {
  roles: ADMINS,
  mutating: true,
  stream: false,
  maintenance: false,
} as const;

/** The gRPC path prefix of MachineService's methods. */
export const MACHINE_SERVICE_PATH = "/machine.MachineService/";

/** Every MachineService method, by its proto name. */
export const METHODS = {
  Version: { owner: "machined", ...READ, maintenance: true },
  Hostname: { owner: "machined", ...READ },
  ServiceList: { owner: "machined", ...READ },
  ServiceStart: { owner: "machined", ...OPERATE },
  ServiceStop: { owner: "machined", ...OPERATE },
  ServiceRestart: { owner: "machined", ...OPERATE },
  Logs: { owner: "machined", ...READ_STREAM },
  Events: { owner: "machined", ...READ_STREAM },
  Dmesg: { owner: "machined", ...READ_STREAM },
  Reboot: { owner: "machined", ...OPERATE },
  Shutdown: { owner: "machined", ...OPERATE },
  ApplyConfiguration: { owner: "machined", ...ADMIN, maintenance: true },
  // Readers get it with every secret replaced: machined redacts by role.
  GetMachineConfig: { owner: "machined", ...READ },
  // Records carry no secret; their diffs are redacted.
  ConfigHistory: { owner: "machined", ...READ },
  GenerateClientConfiguration: { owner: "machined", ...ADMIN },
  Memory: { owner: "machined", ...READ },
  LoadAvg: { owner: "machined", ...READ },
  Links: { owner: "networkd", ...READ },
  Addresses: { owner: "networkd", ...READ },
  Routes: { owner: "networkd", ...READ },
  Disks: { owner: "udevd", ...READ },
  Processes: { owner: "machined", ...READ },
  // File access serves only the node's allowed roots (machined checks).
  List: { owner: "machined", ...READ_STREAM },
  DiskUsage: { owner: "machined", ...READ_STREAM },
  Read: { owner: "machined", ...ADMIN_READ_STREAM },
  Copy: { owner: "machined", ...ADMIN_READ_STREAM },
  // etcd, on control planes: reads for readers, the rest admin (as Talos).
  Bootstrap: { owner: "machined", ...ADMIN },
  EtcdMemberList: { owner: "machined", ...READ },
  EtcdStatus: { owner: "machined", ...READ },
  EtcdAlarmList: { owner: "machined", ...READ },
  EtcdAlarmDisarm: { owner: "machined", ...ADMIN },
  EtcdDefragment: { owner: "machined", ...ADMIN },
  EtcdForfeitLeadership: { owner: "machined", ...ADMIN },
  EtcdLeaveCluster: { owner: "machined", ...ADMIN },
  EtcdRemoveMemberByID: { owner: "machined", ...ADMIN },
  // The whole database: admin only, as file Read.
  EtcdSnapshot: { owner: "machined", ...ADMIN_READ_STREAM },
  Mounts: { owner: "machined", ...READ },
  SystemStat: { owner: "machined", ...READ },
  CPUInfo: { owner: "machined", ...READ },
  DiskStats: { owner: "machined", ...READ },
  NetworkDeviceStats: { owner: "machined", ...READ },
  Netstat: { owner: "machined", ...READ },
  // apid stamps its own clock on the answer (the reference). Talos has it
  // in time.TimeService, with the same message numbers.
  Time: { owner: "machined", ...READ, alsoAt: ["/time.TimeService/Time"] },
  // A new build of the OS, or back to the previous one: admin only.
  Upgrade: { owner: "machined", ...ADMIN },
  Rollback: { owner: "machined", ...ADMIN },
} as const satisfies Readonly<Record<string, MethodSpec>>;

/** A MachineService method's proto name. */
export type MethodName = keyof typeof METHODS;

/** The methods `D` serves on the bus. */
export type MethodsOf<D extends DaemonName> = {
  [K in MethodName]: (typeof METHODS)[K]["owner"] extends D ? K : never;
}[MethodName];

/** The methods a node in maintenance mode serves. */
export type MaintenanceMethod = {
  [K in MethodName]: (typeof METHODS)[K]["maintenance"] extends true ? K
    : never;
}[MethodName];

/** Every method name, in table order. */
export const METHOD_NAMES: readonly MethodName[] = Object.keys(
  METHODS,
) as MethodName[];

/** Whether `name` is a method of the table (not an Object.prototype key). */
export function isMethodName(name: string): name is MethodName {
  return Object.hasOwn(METHODS, name);
}

/** The spec of a method, or undefined when the table has no such method. */
export function methodSpec(name: string): MethodSpec | undefined {
  return isMethodName(name) ? METHODS[name] : undefined;
}

/** The methods a node in maintenance mode serves, sorted by name. */
export const MAINTENANCE_METHODS: readonly MaintenanceMethod[] = METHOD_NAMES
  .filter((m): m is MaintenanceMethod => METHODS[m].maintenance).sort();

/** The methods `daemon` serves on the bus, in table order. */
export function methodsOf<D extends DaemonName>(
  daemon: D,
): MethodsOf<D>[] {
  return METHOD_NAMES.filter((m): m is MethodsOf<D> =>
    METHODS[m].owner === daemon
  );
}
