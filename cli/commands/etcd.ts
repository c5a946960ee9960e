/**
 * `osctl bootstrap` and `osctl etcd members|status|alarm list|alarm
 * disarm|defrag|forfeit-leadership|remove-member ID`, as talosctl has them:
 * tables with a NODE column, or the replies as JSON or YAML with -o.
 * @module
 */
import {
  BootstrapResponse,
  EtcdAlarmDisarmResponse,
  EtcdAlarmListResponse,
  EtcdDefragmentResponse,
  EtcdForfeitLeadershipResponse,
  EtcdLeaveClusterResponse,
  type EtcdMemberAlarm,
  EtcdMemberAlarm_AlarmType,
  EtcdMemberListResponse,
  EtcdRemoveMemberByIDResponse,
  EtcdStatusResponse,
  MachineServiceService,
} from "../../lib/api/gen/machine/machine.ts";
import { memberIdHex } from "../../lib/etcd/mod.ts";
import type { Command, CommandContext } from "../command.ts";
import { UsageError } from "../command.ts";
import { parseCommandArgs } from "../client/args.ts";
import { formatTable, reportNodeErrors } from "../client/output.ts";
import { type NodeMessage, nodeOf, splitReplies } from "../client/reply.ts";
import { printStructured, withApiClient } from "../client/session.ts";
import { forEachNodeMessage } from "../client/merged_stream.ts";

const M = MachineServiceService;

function noArgs(args: string[]): void {
  const { positionals } = parseCommandArgs(args, {});
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"`);
  }
}

/** Bytes as etcdctl and talosctl print them: "20 kB", "1.2 MB". */
export function humanBytes(n: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0
    ? `${n} B`
    : `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/** A member id, decimal on the wire, as 16 hex digits (empty for 0). */
function hexId(id: string): string {
  return id && id !== "0" ? memberIdHex(id) : "";
}

// ---- bootstrap ----

const BOOTSTRAP_USAGE = `Usage: osctl bootstrap

Bootstraps the etcd cluster on one control plane node (name it with -n):
the node forms a new cluster of one member, which the other control planes
then join. Refused before the node is ready (FailedPrecondition), on a node
whose etcd already has data and when another control plane's cluster
already answers (AlreadyExists).`;

async function runBootstrap(
  args: string[],
  ctx: CommandContext,
): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    "recover-from": { type: "string" },
  });
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"`);
  }
  if (values["recover-from"] !== undefined) {
    throw new UsageError("--recover-from is not supported yet");
  }
  if (ctx.globals.nodes.length > 1) {
    throw new UsageError(
      `bootstrap takes one node, got ${ctx.globals.nodes.length}: ${
        ctx.globals.nodes.join(", ")
      }`,
    );
  }
  return await withApiClient(ctx, async (api) => {
    const reply = await api.unary(M.bootstrap, {
      recoverEtcd: false,
      recoverSkipHashCheck: false,
    }, { signal: ctx.signal, singleNode: api.nodes.length === 1 });
    const { errors } = splitReplies(reply.messages, api.defaultNode);
    printStructured(ctx, BootstrapResponse, reply);
    return reportNodeErrors(ctx.io, errors);
  });
}

/** The bootstrap command. */
export const bootstrapCommand: Command = {
  name: "bootstrap",
  summary: "Bootstrap the etcd cluster on the specified node",
  usage: BOOTSTRAP_USAGE,
  run: runBootstrap,
};

// ---- etcd members ----

/** The members table: NODE ID HOSTNAME PEER URLS CLIENT URLS LEARNER. */
export function membersTable(
  reply: EtcdMemberListResponse,
  fallback: string,
): string {
  const rows: string[][] = [];
  for (const m of reply.messages) {
    if (m.metadata?.error) continue;
    const node = nodeOf(m, fallback);
    for (const x of m.members) {
      rows.push([
        node,
        hexId(x.id),
        x.hostname,
        x.peerUrls.join(","),
        x.clientUrls.join(","),
        String(x.isLearner),
      ]);
    }
  }
  return formatTable(
    ["NODE", "ID", "HOSTNAME", "PEER URLS", "CLIENT URLS", "LEARNER"],
    rows,
  );
}

async function runMembers(
  args: string[],
  ctx: CommandContext,
): Promise<number> {
  noArgs(args);
  return await withApiClient(ctx, async (api) => {
    const reply = await api.unary(M.etcdMemberList, { queryLocal: false }, {
      signal: ctx.signal,
    });
    const { errors } = splitReplies(reply.messages, api.defaultNode);
    if (!printStructured(ctx, EtcdMemberListResponse, reply)) {
      ctx.io.stdout(membersTable(reply, api.defaultNode));
    }
    return reportNodeErrors(ctx.io, errors);
  });
}

// ---- etcd status ----

/** The status table, as talosctl etcd status prints it. */
export function statusTable(
  reply: EtcdStatusResponse,
  fallback: string,
): string {
  const rows: string[][] = [];
  for (const m of reply.messages) {
    const s = m.memberStatus;
    if (m.metadata?.error || !s) continue;
    const inUse = s.dbSize > 0
      ? ` (${((s.dbSizeInUse / s.dbSize) * 100).toFixed(2)}%)`
      : "";
    rows.push([
      nodeOf(m, fallback),
      hexId(s.memberId),
      humanBytes(s.dbSize),
      `${humanBytes(s.dbSizeInUse)}${inUse}`,
      hexId(s.leader),
      s.raftIndex,
      s.raftTerm,
      s.raftAppliedIndex,
      String(s.isLearner),
      s.protocolVersion,
      s.errors.join(", "),
    ]);
  }
  return formatTable([
    "NODE",
    "MEMBER",
    "DB SIZE",
    "IN USE",
    "LEADER",
    "RAFT INDEX",
    "RAFT TERM",
    "RAFT APPLIED INDEX",
    "LEARNER",
    "PROTOCOL",
    "ERRORS",
  ], rows);
}

async function runStatus(args: string[], ctx: CommandContext): Promise<number> {
  noArgs(args);
  return await withApiClient(ctx, async (api) => {
    const reply = await api.unary(M.etcdStatus, { metadata: undefined }, {
      signal: ctx.signal,
    });
    const { errors } = splitReplies(reply.messages, api.defaultNode);
    if (!printStructured(ctx, EtcdStatusResponse, reply)) {
      ctx.io.stdout(statusTable(reply, api.defaultNode));
    }
    return reportNodeErrors(ctx.io, errors);
  });
}

// ---- etcd alarm list|disarm ----

function alarmName(a: EtcdMemberAlarm_AlarmType): string {
  switch (a) {
    case EtcdMemberAlarm_AlarmType.NOSPACE:
      return "NOSPACE";
    case EtcdMemberAlarm_AlarmType.CORRUPT:
      return "CORRUPT";
    default:
      return "NONE";
  }
}

function alarmsTable(
  messages: readonly (NodeMessage & { memberAlarms: EtcdMemberAlarm[] })[],
  fallback: string,
): string {
  const rows: string[][] = [];
  for (const m of messages) {
    if (m.metadata?.error) continue;
    for (const a of m.memberAlarms) {
      rows.push([nodeOf(m, fallback), hexId(a.memberId), alarmName(a.alarm)]);
    }
  }
  return formatTable(["NODE", "MEMBER", "ALARM"], rows);
}

async function runAlarmList(
  args: string[],
  ctx: CommandContext,
): Promise<number> {
  noArgs(args);
  return await withApiClient(ctx, async (api) => {
    const reply = await api.unary(M.etcdAlarmList, { metadata: undefined }, {
      signal: ctx.signal,
    });
    const { errors } = splitReplies(reply.messages, api.defaultNode);
    if (!printStructured(ctx, EtcdAlarmListResponse, reply)) {
      ctx.io.stdout(alarmsTable(reply.messages, api.defaultNode));
    }
    return reportNodeErrors(ctx.io, errors);
  });
}

async function runAlarmDisarm(
  args: string[],
  ctx: CommandContext,
): Promise<number> {
  noArgs(args);
  return await withApiClient(ctx, async (api) => {
    const reply = await api.unary(M.etcdAlarmDisarm, { metadata: undefined }, {
      signal: ctx.signal,
    });
    const { errors } = splitReplies(reply.messages, api.defaultNode);
    if (!printStructured(ctx, EtcdAlarmDisarmResponse, reply)) {
      ctx.io.stdout(alarmsTable(reply.messages, api.defaultNode));
    }
    return reportNodeErrors(ctx.io, errors);
  });
}

// ---- etcd defrag | forfeit-leadership | remove-member ----

async function runLeave(args: string[], ctx: CommandContext): Promise<number> {
  noArgs(args);
  return await withApiClient(ctx, async (api) => {
    // One node: its own deadline, not a fan-out leg's few seconds.
    const reply = await api.unary(M.etcdLeaveCluster, {}, {
      signal: ctx.signal,
      timeoutMs: 60_000,
      singleNode: api.nodes.length === 1,
    });
    const { errors } = splitReplies(reply.messages, api.defaultNode);
    printStructured(ctx, EtcdLeaveClusterResponse, reply);
    return reportNodeErrors(ctx.io, errors);
  });
}

async function runSnapshot(
  args: string[],
  ctx: CommandContext,
): Promise<number> {
  const { positionals } = parseCommandArgs(args, {});
  if (positionals.length !== 1) {
    throw new UsageError("snapshot needs the FILE to write");
  }
  if (ctx.globals.nodes.length > 1) {
    throw new UsageError("snapshot takes one node");
  }
  const dest = positionals[0];
  return await withApiClient(ctx, async (api) => {
    // Written next to FILE and renamed once whole: no half snapshot is left.
    const part = `${dest}.part`;
    const file = await Deno.open(part, {
      write: true,
      create: true,
      truncate: true,
      mode: 0o600,
    });
    let bytes = 0;
    let errors;
    try {
      const pending: Promise<unknown>[] = [];
      errors = await forEachNodeMessage(
        ctx,
        api,
        api.stream(M.etcdSnapshot, {}, {
          signal: ctx.signal,
          singleNode: api.nodes.length === 1,
        }),
        (_node, d) => {
          bytes += d.bytes.length;
          pending.push(file.write(d.bytes));
        },
      );
      await Promise.all(pending);
      await file.sync();
    } catch (err) {
      file.close();
      await Deno.remove(part).catch(() => {});
      throw err;
    }
    file.close();
    if (errors.length > 0 || bytes === 0) {
      await Deno.remove(part).catch(() => {});
      if (errors.length === 0) {
        ctx.io.stderr("error: etcd sent an empty snapshot\n");
        return 1;
      }
      return reportNodeErrors(ctx.io, errors);
    }
    await Deno.rename(part, dest);
    ctx.io.stderr(
      `etcd snapshot saved to ${JSON.stringify(dest)} (${bytes} bytes)\n`,
    );
    return 0;
  });
}

async function runDefrag(args: string[], ctx: CommandContext): Promise<number> {
  noArgs(args);
  return await withApiClient(ctx, async (api) => {
    const reply = await api.unary(M.etcdDefragment, { metadata: undefined }, {
      signal: ctx.signal,
      timeoutMs: 120_000,
      singleNode: api.nodes.length === 1,
    });
    const { errors } = splitReplies(reply.messages, api.defaultNode);
    printStructured(ctx, EtcdDefragmentResponse, reply);
    return reportNodeErrors(ctx.io, errors);
  });
}

async function runForfeit(
  args: string[],
  ctx: CommandContext,
): Promise<number> {
  noArgs(args);
  return await withApiClient(ctx, async (api) => {
    const reply = await api.unary(M.etcdForfeitLeadership, {}, {
      signal: ctx.signal,
    });
    const { good, errors } = splitReplies(reply.messages, api.defaultNode);
    if (!printStructured(ctx, EtcdForfeitLeadershipResponse, reply)) {
      ctx.io.stdout(
        formatTable(
          ["NODE", "MEMBER"],
          good.map((m) => [nodeOf(m, api.defaultNode), m.member]),
        ),
      );
    }
    return reportNodeErrors(ctx.io, errors);
  });
}

/** A member id as an operator types it: hex (as the table shows) or decimal with --decimal. */
export function parseMemberId(text: string): string {
  const hex = /^(?:0x)?([0-9a-fA-F]{1,16})$/.exec(text);
  if (!hex) {
    throw new UsageError(
      `member id ${
        JSON.stringify(text)
      }: want up to 16 hex digits (as "osctl etcd members" shows it)`,
    );
  }
  const id = BigInt(`0x${hex[1]}`);
  if (id === 0n) throw new UsageError("member id 0 is not a member");
  return id.toString(10);
}

async function runRemoveMember(
  args: string[],
  ctx: CommandContext,
): Promise<number> {
  const { positionals } = parseCommandArgs(args, {});
  if (positionals.length !== 1) {
    throw new UsageError("remove-member takes one member id");
  }
  const memberId = parseMemberId(positionals[0]);
  return await withApiClient(ctx, async (api) => {
    const reply = await api.unary(M.etcdRemoveMemberById, { memberId }, {
      signal: ctx.signal,
    });
    const { errors } = splitReplies(reply.messages, api.defaultNode);
    printStructured(ctx, EtcdRemoveMemberByIDResponse, reply);
    return reportNodeErrors(ctx.io, errors);
  });
}

/** The etcd commands. */
export const ETCD_COMMANDS: readonly Command[] = [
  {
    name: "etcd members",
    summary: "List etcd cluster members",
    usage:
      "Usage: osctl etcd members\n\nLists the etcd members as each target control plane sees them.",
    run: runMembers,
  },
  {
    name: "etcd status",
    summary: "Get the status of etcd cluster member",
    usage:
      "Usage: osctl etcd status\n\nThe status of each target control plane's etcd member.",
    run: runStatus,
  },
  {
    name: "etcd alarm list",
    summary: "List the etcd alarms",
    usage:
      "Usage: osctl etcd alarm list\n\nLists the alarms each target control plane's etcd reports.",
    run: runAlarmList,
  },
  {
    name: "etcd alarm disarm",
    summary: "Disarm the etcd alarms",
    usage:
      "Usage: osctl etcd alarm disarm\n\nDisarms every etcd alarm (admin).",
    run: runAlarmDisarm,
  },
  {
    name: "etcd defrag",
    summary: "Defragment etcd database on the node",
    usage:
      "Usage: osctl etcd defrag\n\nDefragments each target control plane's etcd database (admin; one node at a time is wise).",
    run: runDefrag,
  },
  {
    name: "etcd forfeit-leadership",
    summary: "Tell a node to resign etcd cluster leadership",
    usage:
      "Usage: osctl etcd forfeit-leadership\n\nA target node that leads the etcd cluster hands leadership to another voting member (admin).",
    run: runForfeit,
  },
  {
    name: "etcd snapshot",
    summary: "Stream snapshot of the etcd node to the path",
    usage:
      "Usage: osctl etcd snapshot FILE\n\nWrites a snapshot of one control plane's etcd database to FILE (0600; admin). `etcdctl snapshot status FILE` reads it.",
    run: runSnapshot,
  },
  {
    name: "etcd leave",
    summary: "Tell nodes to leave etcd cluster",
    usage:
      "Usage: osctl etcd leave\n\nThe target control plane leaves the etcd cluster: it hands on leadership, is removed by the other members, stops etcd and wipes its data (admin). Starting its etcd service again joins it afresh.",
    run: runLeave,
  },
  {
    name: "etcd remove-member",
    summary: "Remove the node from etcd cluster",
    usage:
      'Usage: osctl etcd remove-member ID\n\nRemoves the etcd member ID (hex, as "osctl etcd members" shows it) through the target control plane (admin).',
    run: runRemoveMember,
  },
];
