/**
 * The node's statistics, in Talos's shapes, read on every call: Mounts
 * (/proc/mounts and statfs(2)), SystemStat (/proc/stat), CPUInfo
 * (/proc/cpuinfo), DiskStats (/proc/diskstats), NetworkDeviceStats
 * (/proc/net/dev) and Netstat (the /proc/net socket tables).
 * @module
 */
import {
  type ConnectRecord,
  type ConnectRecord_State,
  type ConnectRecord_TimerActive,
  NetstatRequest_Filter,
} from "../../../lib/api/gen/machine/machine.ts";
import type { MethodHandlers } from "../../../lib/api/serve.ts";
import { ApiError } from "../../../lib/api_error/mod.ts";
import { Libc } from "../../../lib/ffi/mod.ts";
import {
  parseDiskStats,
  parseMounts,
  parseNetDev,
  readCpuInfo,
  readSocketTable,
  readSystemStat,
  SOCKET_PROTOS,
  socketOwners,
  type SocketProto,
} from "../../../lib/procfs/mod.ts";
import { reply } from "./reply.ts";

/** File systems whose statfs(2) may hang on the network: reported as 0. */
const REMOTE_FS = /^(nfs4?|cifs|smb3|ceph|glusterfs|fuse\.sshfs|afs)$/;

async function readProc(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    throw new ApiError("Unavailable", `cannot read ${path}: ${err}`);
  }
}

function parsed<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new ApiError(
      "Internal",
      `cannot parse ${path}: ${err instanceof Error ? err.message : err}`,
    );
  }
}

function unspecified(ip: string): boolean {
  return ip === "0.0.0.0" || ip === "::";
}

/** The Mounts, SystemStat, CPUInfo, DiskStats, NetworkDeviceStats and Netstat handlers. */
export function statsApi(): Pick<
  MethodHandlers<"machined">,
  | "Mounts"
  | "SystemStat"
  | "CPUInfo"
  | "DiskStats"
  | "NetworkDeviceStats"
  | "Netstat"
> {
  return {
    Mounts: async () => {
      const text = await readProc("/proc/mounts");
      const mounts = parsed("/proc/mounts", () => parseMounts(text));
      using libc = Libc.open();
      return reply({
        stats: mounts.map((m) => {
          let size = 0;
          let available = 0;
          if (!REMOTE_FS.test(m.fsType)) {
            try {
              const s = libc.statfs(m.mountPoint);
              size = s.size;
              available = s.available;
            } catch {
              // Gone since /proc/mounts was read, or not a folder: 0, as Talos.
            }
          }
          return {
            filesystem: m.source,
            size,
            available,
            mountedOn: m.mountPoint,
          };
        }),
      });
    },
    SystemStat: async () => {
      const s = await readSystemStat().catch((err) => {
        throw new ApiError("Unavailable", `cannot read /proc/stat: ${err}`);
      });
      return reply(s);
    },
    CPUInfo: async () => {
      const cpus = await readCpuInfo().catch((err) => {
        throw new ApiError("Unavailable", `cannot read /proc/cpuinfo: ${err}`);
      });
      return reply({ cpuInfo: cpus });
    },
    DiskStats: async () => {
      const text = await readProc("/proc/diskstats");
      return reply(parsed("/proc/diskstats", () => parseDiskStats(text)));
    },
    NetworkDeviceStats: async () => {
      const text = await readProc("/proc/net/dev");
      return reply(parsed("/proc/net/dev", () => parseNetDev(text)));
    },
    Netstat: async (req) => {
      if (
        req.filter !== NetstatRequest_Filter.ALL &&
        req.filter !== NetstatRequest_Filter.CONNECTED &&
        req.filter !== NetstatRequest_Filter.LISTENING
      ) {
        throw new ApiError("InvalidArgument", `invalid filter: ${req.filter}`);
      }
      if ((req.netns?.netns.length ?? 0) > 0) {
        throw new ApiError(
          "InvalidArgument",
          `network namespaces ${
            req.netns!.netns.map((n) => JSON.stringify(n)).join(", ")
          } are not known: the node has only its host network`,
        );
      }
      const asked = SOCKET_PROTOS.filter((p) => req.l4proto?.[p]);
      const protos: readonly SocketProto[] = asked.length > 0
        ? asked
        : SOCKET_PROTOS;
      const owners = req.feature?.pid ? await socketOwners() : undefined;
      const records: ConnectRecord[] = [];
      for (const proto of protos) {
        const sockets = await readSocketTable(proto).catch((err) => {
          throw new ApiError(
            "Unavailable",
            `cannot read /proc/net/${proto}: ${
              err instanceof Error ? err.message : err
            }`,
          );
        });
        for (const s of sockets) {
          const listening = unspecified(s.remoteIp) && s.remotePort === 0;
          if (req.filter === NetstatRequest_Filter.LISTENING && !listening) {
            continue;
          }
          if (req.filter === NetstatRequest_Filter.CONNECTED && listening) {
            continue;
          }
          const owner = owners?.get(s.inode);
          records.push({
            l4proto: s.proto,
            localip: s.localIp,
            localport: s.localPort,
            remoteip: s.remoteIp,
            remoteport: s.remotePort,
            state: s.state as ConnectRecord_State,
            txqueue: s.txQueue,
            rxqueue: s.rxQueue,
            tr: s.timer as ConnectRecord_TimerActive,
            timerwhen: s.timerWhen,
            retrnsmt: s.retransmits,
            uid: s.uid,
            timeout: s.timeout,
            inode: s.inode,
            ref: s.ref,
            pointer: s.pointer,
            process: owner ? { pid: owner.pid, name: owner.name } : {
              pid: 0,
              name: "",
            },
            netns: "",
          });
        }
      }
      return reply({ connectrecord: records });
    },
  };
}
