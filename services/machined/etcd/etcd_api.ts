/**
 * machined's etcd methods of MachineService: Bootstrap and the
 * Etcd* family, answered from this node's member. On a worker (no etcd)
 * every one is refused with FailedPrecondition, as Talos does.
 * @module
 */
import {
  type EtcdMemberAlarm,
  EtcdMemberAlarm_AlarmType,
} from "../../../lib/api/gen/machine/machine.ts";
import type { MethodHandlers } from "../../../lib/api/serve.ts";
import { ApiError } from "../../../lib/api_error/mod.ts";
import type { HandlerContext } from "../../../lib/bus/mod.ts";
import { HEADER_CALLER, HEADER_ROLES } from "../../../lib/constants/mod.ts";
import type { EtcdAlarmInfo } from "../../../lib/etcd/mod.ts";
import type { Logger } from "../../../lib/log/mod.ts";
import type { EtcdService } from "./etcd_service.ts";

/** The etcd methods machined serves. */
export type EtcdMethod = typeof ETCD_METHODS[number];

/** The etcd methods machined serves, by name. */
export const ETCD_METHODS = [
  "EtcdSnapshot",
  "Bootstrap",
  "EtcdMemberList",
  "EtcdStatus",
  "EtcdAlarmList",
  "EtcdAlarmDisarm",
  "EtcdDefragment",
  "EtcdForfeitLeadership",
  "EtcdLeaveCluster",
  "EtcdRemoveMemberByID",
] as const;

function alarmType(name: string): EtcdMemberAlarm_AlarmType {
  if (name === "NOSPACE") return EtcdMemberAlarm_AlarmType.NOSPACE;
  if (name === "CORRUPT") return EtcdMemberAlarm_AlarmType.CORRUPT;
  return EtcdMemberAlarm_AlarmType.NONE;
}

function memberAlarms(list: EtcdAlarmInfo[]): EtcdMemberAlarm[] {
  return list.map((a) => ({ memberId: a.memberId, alarm: alarmType(a.alarm) }));
}

/** The handlers of the etcd methods; `etcd` is undefined on workers. */
export function etcdHandlers(
  etcd: EtcdService | undefined,
  log: Logger,
): Pick<MethodHandlers<"machined">, EtcdMethod> {
  const audit = (method: string, ctx: HandlerContext, fields = {}) =>
    log.info("audit", {
      method,
      caller: ctx.headers[HEADER_CALLER] ?? "",
      roles: ctx.headers[HEADER_ROLES] ?? "",
      ...fields,
    });
  const member = (what: string): EtcdService => {
    if (!etcd) {
      throw new ApiError(
        "FailedPrecondition",
        `${what} is only supported on control plane nodes`,
      );
    }
    return etcd;
  };

  return {
    Bootstrap: async (req, ctx) => {
      audit("Bootstrap", ctx, { recoverEtcd: req.recoverEtcd });
      if (req.recoverEtcd) {
        throw new ApiError(
          "Unimplemented",
          "recovering etcd from a snapshot is not supported yet",
        );
      }
      await member("bootstrap").bootstrap(ctx.signal);
      return { messages: [{ metadata: undefined }] };
    },

    EtcdMemberList: async (_req, ctx) => {
      const list = await member("etcd member list").memberList(ctx.signal);
      return {
        messages: [{
          metadata: undefined,
          legacyMembers: list.map((m) => m.name),
          members: list.map((m) => ({
            id: m.id,
            hostname: m.name,
            peerUrls: m.peerUrls,
            clientUrls: m.clientUrls,
            isLearner: m.isLearner,
          })),
        }],
      };
    },

    EtcdStatus: async (_req, ctx) => {
      const s = await member("etcd status").withLocal((c) =>
        c.status({ signal: ctx.signal })
      );
      return {
        messages: [{
          metadata: undefined,
          memberStatus: {
            storageVersion: "",
            memberId: s.memberId,
            protocolVersion: s.version,
            dbSize: s.dbSize,
            dbSizeInUse: s.dbSizeInUse,
            leader: s.leader,
            raftIndex: s.raftIndex,
            raftTerm: s.raftTerm,
            raftAppliedIndex: s.raftAppliedIndex,
            errors: s.errors,
            isLearner: s.isLearner,
          },
        }],
      };
    },

    EtcdAlarmList: async (_req, ctx) => {
      const list = await member("etcd alarm list").withLocal((c) =>
        c.alarmList({ signal: ctx.signal })
      );
      return {
        messages: [{ metadata: undefined, memberAlarms: memberAlarms(list) }],
      };
    },

    EtcdAlarmDisarm: async (_req, ctx) => {
      audit("EtcdAlarmDisarm", ctx);
      const list = await member("etcd alarm disarm").withLocal((c) =>
        c.alarmDisarm({ signal: ctx.signal })
      );
      return {
        messages: [{ metadata: undefined, memberAlarms: memberAlarms(list) }],
      };
    },

    EtcdDefragment: async (_req, ctx) => {
      audit("EtcdDefragment", ctx);
      await member("etcd defragment").withLocal((c) =>
        c.defragment({ signal: ctx.signal })
      );
      return { messages: [{ metadata: undefined }] };
    },

    EtcdForfeitLeadership: async (_req, ctx) => {
      audit("EtcdForfeitLeadership", ctx);
      const newLeader = await member("etcd forfeit leadership").withLocal(
        async (c) => {
          const status = await c.status({ signal: ctx.signal });
          if (status.leader !== status.memberId) return "";
          const list = await c.memberList({ signal: ctx.signal });
          const target = list.find((m) =>
            !m.isLearner && m.id !== status.memberId
          );
          if (!target) {
            throw new ApiError(
              "FailedPrecondition",
              "no other voting member to hand leadership to",
            );
          }
          await c.moveLeader(target.id, { signal: ctx.signal });
          return target.name;
        },
      );
      return { messages: [{ metadata: undefined, member: newLeader }] };
    },

    EtcdLeaveCluster: async (_req, ctx) => {
      audit("EtcdLeaveCluster", ctx);
      await member("etcd leave").leave(ctx.signal);
      return { messages: [{ metadata: undefined }] };
    },

    EtcdSnapshot: async (_req, ctx) => {
      audit("EtcdSnapshot", ctx);
      const etcd = member("etcd snapshot");
      await etcd.withLocal(async (c) => {
        for await (const bytes of c.snapshot({ signal: ctx.signal })) {
          await ctx.send({ metadata: undefined, bytes });
        }
      });
    },

    EtcdRemoveMemberByID: async (req, ctx) => {
      audit("EtcdRemoveMemberByID", ctx, { memberId: req.memberId });
      if (req.memberId === "0") {
        throw new ApiError("InvalidArgument", "member id is required");
      }
      await member("etcd remove member").withLocal(async (c) => {
        const list = await c.memberList({ signal: ctx.signal });
        if (!list.some((m) => m.id === req.memberId)) {
          throw new ApiError(
            "NotFound",
            `etcd member ${req.memberId} is not in the member list`,
          );
        }
        await c.memberRemove(req.memberId, { signal: ctx.signal });
      });
      return { messages: [{ metadata: undefined }] };
    },
  };
}
