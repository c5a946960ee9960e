/**
 * `osctl mounts` and `osctl netstat`: the node's mounted file systems and
 * its sockets, printed as talosctl prints them, with a NODE column.
 * @module
 */
import {
  type ConnectRecord,
  connectRecord_StateToJSON,
  connectRecord_TimerActiveToJSON,
  MachineServiceService,
  MountsResponse,
  type MountStat,
  NetstatRequest,
  NetstatRequest_Filter,
  NetstatResponse,
} from "../../lib/api/gen/machine/machine.ts";
import type { Command, CommandContext } from "../command.ts";
import { UsageError } from "../command.ts";
import { parseCommandArgs } from "../client/args.ts";
import { formatTable, reportNodeErrors } from "../client/output.ts";
import { nodeOf, splitReplies } from "../client/reply.ts";
import { printStructured, withApiClient } from "../client/session.ts";
import { timeCommand } from "./time.ts";

const MOUNTS_USAGE = `Usage: osctl mounts

Lists the mounted file systems of every target node with their size, use
and free space in GB (file systems of no size, such as proc, are left out).`;

/** One mounts row, as talosctl prints it; undefined for a sizeless mount. */
export function mountRow(node: string, m: MountStat): string[] | undefined {
  if (m.size === 0) return undefined;
  const gb = (n: number) => (n * 1e-9).toFixed(2);
  const used = 100 - 100 * (m.available / m.size);
  return [
    node,
    m.filesystem,
    gb(m.size),
    gb(m.size - m.available),
    gb(m.available),
    `${used.toFixed(2)}%`,
    m.mountedOn,
  ];
}

async function mountsRun(args: string[], ctx: CommandContext): Promise<number> {
  const { positionals } = parseCommandArgs(args, {});
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"`);
  }
  return await withApiClient(ctx, async (api) => {
    const reply = await api.unary(MachineServiceService.mounts, {
      metadata: undefined,
    }, { signal: ctx.signal });
    const { good, errors } = splitReplies(reply.messages, api.defaultNode);
    if (!printStructured(ctx, MountsResponse, reply)) {
      ctx.io.stdout(formatTable(
        [
          "NODE",
          "FILESYSTEM",
          "SIZE(GB)",
          "USED(GB)",
          "AVAILABLE(GB)",
          "PERCENT USED",
          "MOUNTED ON",
        ],
        good.flatMap((m) =>
          m.stats.flatMap((s) => {
            const row = mountRow(nodeOf(m, api.defaultNode), s);
            return row ? [row] : [];
          })
        ),
      ));
    }
    return reportNodeErrors(ctx.io, errors);
  });
}

/** The mounts command. */
export const mountsCommand: Command = {
  name: "mounts",
  summary: "List the mounted file systems of nodes",
  usage: MOUNTS_USAGE,
  run: mountsRun,
};

const NETSTAT_USAGE =
  `Usage: osctl netstat [-a | -l] [-t] [-u] [-U] [-w] [-4] [-6] [-p] [-x] [--timers] [-v]

Lists the sockets of every target node, as netstat does: connected ones by
default.

Flags:
  -a, --all         every socket, whatever its state
  -l, --listening   listening sockets only
  -t, --tcp         TCP sockets only (combine with -u, -U, -w)
  -u, --udp         UDP sockets only
  -U, --udplite     UDP-Lite sockets only
  -w, --raw         raw sockets only
  -4, --ipv4        IPv4 sockets only
  -6, --ipv6        IPv6 sockets only
  -v, --verbose     sockets of every protocol
  -p, --programs    the process of each socket
  -x, --extend      owner uid and inode too
      --timers      each socket's timer`;

const HEADER = [
  "Proto",
  "Recv-Q",
  "Send-Q",
  "Local Address",
  "Foreign Address",
  "State",
];

/** The Netstat request the flags ask for (talosctl's defaults). */
export function netstatRequest(v: {
  all?: boolean;
  listening?: boolean;
  tcp?: boolean;
  udp?: boolean;
  udplite?: boolean;
  raw?: boolean;
  ipv4?: boolean;
  ipv6?: boolean;
  verbose?: boolean;
  programs?: boolean;
}): NetstatRequest {
  const every = !!v.verbose;
  const l4 = {
    tcp: every || !!v.tcp,
    tcp6: every || !!v.tcp,
    udp: every || !!v.udp,
    udp6: every || !!v.udp,
    udplite: every || !!v.udplite,
    udplite6: every || !!v.udplite,
    raw: every || !!v.raw,
    raw6: every || !!v.raw,
  };
  if (!Object.values(l4).some(Boolean)) {
    l4.tcp =
      l4.tcp6 =
      l4.udp =
      l4.udp6 =
        true;
  }
  if (v.ipv4 && !v.ipv6) {
    l4.tcp6 =
      l4.udp6 =
      l4.udplite6 =
      l4.raw6 =
        false;
  }
  if (v.ipv6 && !v.ipv4) {
    l4.tcp =
      l4.udp =
      l4.udplite =
      l4.raw =
        false;
  }
  return NetstatRequest.fromPartial({
    filter: v.all
      ? NetstatRequest_Filter.ALL
      : v.listening
      ? NetstatRequest_Filter.LISTENING
      : NetstatRequest_Filter.CONNECTED,
    feature: { pid: !!v.programs },
    l4proto: l4,
    netns: { hostnetwork: true, netns: [], allnetns: false },
  });
}

/** One netstat row, as talosctl prints it. */
export function netstatRow(
  node: string,
  r: ConnectRecord,
  flags: { extend?: boolean; programs?: boolean; timers?: boolean },
): string[] {
  // 7 (CLOSE) is what an unconnected UDP socket says: left blank.
  const state = r.state === 7 ? "" : connectRecord_StateToJSON(r.state);
  const row = [
    node,
    r.l4proto,
    String(r.rxqueue),
    String(r.txqueue),
    `${r.localip}:${r.localport}`,
    `${r.remoteip}:${r.remoteport === 0 ? "*" : r.remoteport}`,
    state,
  ];
  if (flags.extend) row.push(String(r.uid), String(r.inode));
  if (flags.programs) {
    row.push(
      r.process && r.process.pid !== 0
        ? `${r.process.pid}/${r.process.name}`
        : "-",
    );
  }
  if (flags.timers) {
    row.push(
      `${connectRecord_TimerActiveToJSON(r.tr).toLowerCase()} (${
        (r.timerwhen / 100).toFixed(2)
      }/${r.retrnsmt}/${r.timeout})`,
    );
  }
  return row;
}

async function netstatRun(
  args: string[],
  ctx: CommandContext,
): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    all: { type: "boolean", short: "a", default: false },
    listening: { type: "boolean", short: "l", default: false },
    tcp: { type: "boolean", short: "t", default: false },
    udp: { type: "boolean", short: "u", default: false },
    udplite: { type: "boolean", short: "U", default: false },
    raw: { type: "boolean", short: "w", default: false },
    ipv4: { type: "boolean", short: "4", default: false },
    ipv6: { type: "boolean", short: "6", default: false },
    verbose: { type: "boolean", short: "v", default: false },
    programs: { type: "boolean", short: "p", default: false },
    extend: { type: "boolean", short: "x", default: false },
    timers: { type: "boolean", default: false },
  });
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"`);
  }
  if (values.all && values.listening) {
    throw new UsageError("give -a or -l, not both");
  }
  const request = netstatRequest(values);
  return await withApiClient(ctx, async (api) => {
    const reply = await api.unary(MachineServiceService.netstat, request, {
      signal: ctx.signal,
    });
    const { good, errors } = splitReplies(reply.messages, api.defaultNode);
    if (!printStructured(ctx, NetstatResponse, reply)) {
      const header = ["NODE", ...HEADER];
      if (values.extend) header.push("Uid", "Inode");
      if (values.programs) header.push("PID/Program name");
      if (values.timers) header.push("Timer");
      const rows = good.flatMap((m) =>
        m.connectrecord.map((r) =>
          netstatRow(nodeOf(m, api.defaultNode), r, values)
        )
      );
      if (rows.length > 0) ctx.io.stdout(formatTable(header, rows));
    }
    return reportNodeErrors(ctx.io, errors);
  });
}

/** The netstat command. */
export const netstatCommand: Command = {
  name: "netstat",
  summary: "List the sockets of nodes",
  usage: NETSTAT_USAGE,
  run: netstatRun,
};

/** The node statistics commands, in help order. */
export const NODE_STATS_COMMANDS: readonly Command[] = [
  mountsCommand,
  netstatCommand,
  timeCommand,
];
