/**
 * machined's part of MachineService on the bus: one handler per method the
 * method table gives machined.
 * @module
 */
import type {
  ApplyConfiguration,
  ConfigHistory,
  Event,
  PlatformInfo,
  ProcessInfo,
  ServiceInfo,
  VersionInfo,
} from "../../../lib/api/gen/machine/machine.ts";
import { type MethodHandlers, serveMethods } from "../../../lib/api/serve.ts";
import type { Bus, HandlerContext } from "../../../lib/bus/mod.ts";
import { ApiError } from "../../../lib/api_error/mod.ts";
import { HEADER_CALLER, HEADER_ROLES } from "../../../lib/constants/mod.ts";
import {
  type MachineConfig,
  redactMachineConfig,
  stringifyMachineConfig,
} from "../../../lib/config/mod.ts";
import type { Logger } from "../../../lib/log/mod.ts";
import { readLoadavg, readMeminfo } from "../../../lib/procfs/mod.ts";
import { formatKmsgRecord, readKmsg } from "../dmesg.ts";
import type { EventLog, RuntimeEvent } from "../event_log.ts";
import { formatLogLine, type LogStore } from "../log_store.ts";
import type { ServiceSnapshot } from "../runner/service_runner.ts";
import {
  type ClientConfigSource,
  generateClientConfiguration,
} from "./client_config_api.ts";

/** What the machine API serves from; machined implements it. */
export interface MachineBackend {
  /** The node's hostname. */
  hostname(): string;
  /** Build and platform facts. */
  version(): { version: VersionInfo; platform: PlatformInfo };
  /** Every service, machined and nats included, in start order. */
  services(): ServiceSnapshot[];
  /** Starts a service; returns the reply text (throws ApiError). */
  serviceStart(id: string): string;
  /** Stops a service after the reply is sent; returns the reply text. */
  serviceStop(id: string): string;
  /** Restarts a service after the reply is sent; returns the reply text. */
  serviceRestart(id: string): string;
  /** Restarts every service in place after the reply; returns an actor id. */
  reboot(): string;
  /** Stops everything after the reply, then machined exits; an actor id. */
  shutdown(force: boolean): string;
  /** The machine config the node runs with. */
  machineConfig(): MachineConfig;
  /** Validates and applies a config (throws ApiError). */
  applyConfiguration(
    data: Uint8Array,
    mode: string,
    dryRun: boolean,
  ): Promise<Omit<ApplyConfiguration, "metadata" | "diff"> & { diff?: string }>;
  /** The accepted configs' history (absent: the node keeps none). */
  configHistory?(
    withDiff: boolean,
  ): Promise<Omit<ConfigHistory, "metadata">>;
  /** The node's processes. */
  processes(): Promise<ProcessInfo[]>;
  /** Captured logs. */
  logs: LogStore;
  /** Runtime events. */
  events: EventLog;
}

/** Largest Data chunk of a log stream (bytes). */
const CHUNK_BYTES = 32 * 1024;

const encoder = new TextEncoder();
const utf8 = (text: string): Uint8Array => encoder.encode(text);

/** Maps a service snapshot to the API's ServiceInfo. */
export function serviceInfo(s: ServiceSnapshot): ServiceInfo {
  return {
    id: s.id,
    state: s.state,
    pid: s.pid,
    dependsOn: s.dependsOn,
    events: s.events.map((e) => ({
      msg: e.count ? `${e.message} (${e.count} times)` : e.message,
      state: e.state,
      ts: new Date(e.ts).toISOString(),
    })),
    health: {
      unknown: s.health.unknown,
      healthy: s.health.healthy,
      lastMessage: s.health.lastMessage,
      lastChange: s.health.lastChange
        ? new Date(s.health.lastChange).toISOString()
        : "",
    },
  };
}

/** Maps a runtime event to the API's Event. */
export function eventMessage(e: RuntimeEvent): Event {
  return {
    metadata: undefined,
    id: e.id,
    ts: new Date(e.ts).toISOString(),
    type: e.type,
    service: e.service,
    state: e.state,
    message: e.message,
  };
}

/**
 * Serves machined's part of MachineService on the bus. Every mutating call
 * is audit-logged with the caller and roles apid put in the headers.
 */
export function serveMachineApi(
  bus: Bus,
  backend: MachineBackend,
  log: Logger,
  clientConfig: ClientConfigSource,
): void {
  serveMethods(bus, "machined", {
    ...machineHandlers(backend, log),
    GenerateClientConfiguration: generateClientConfiguration(clientConfig, log),
  });
}

/** machined's handlers, but GenerateClientConfiguration. */
export function machineHandlers(
  backend: MachineBackend,
  log: Logger,
): Omit<MethodHandlers<"machined">, "GenerateClientConfiguration"> {
  const audit = (
    method: string,
    ctx: HandlerContext,
    fields: Record<string, unknown> = {},
  ) => {
    log.info("audit", {
      method,
      caller: ctx.headers[HEADER_CALLER] ?? "",
      roles: ctx.headers[HEADER_ROLES] ?? "",
      ...fields,
    });
  };

  return {
    Version: () => {
      const v = backend.version();
      return Promise.resolve({
        messages: [{
          metadata: undefined,
          version: v.version,
          platform: v.platform,
        }],
      });
    },

    Hostname: () =>
      Promise.resolve({
        messages: [{ metadata: undefined, hostname: backend.hostname() }],
      }),

    ServiceList: () =>
      Promise.resolve({
        messages: [{
          metadata: undefined,
          services: backend.services().map(serviceInfo),
        }],
      }),

    ServiceStart: (req, ctx) => {
      audit("ServiceStart", ctx, { id: req.id });
      return Promise.resolve({
        messages: [{ metadata: undefined, resp: backend.serviceStart(req.id) }],
      });
    },

    ServiceStop: (req, ctx) => {
      audit("ServiceStop", ctx, { id: req.id });
      return Promise.resolve({
        messages: [{ metadata: undefined, resp: backend.serviceStop(req.id) }],
      });
    },

    ServiceRestart: (req, ctx) => {
      audit("ServiceRestart", ctx, { id: req.id });
      return Promise.resolve({
        messages: [{
          metadata: undefined,
          resp: backend.serviceRestart(req.id),
        }],
      });
    },

    Reboot: (_req, ctx) => {
      audit("Reboot", ctx);
      return Promise.resolve({
        messages: [{ metadata: undefined, actorId: backend.reboot() }],
      });
    },

    Shutdown: (req, ctx) => {
      audit("Shutdown", ctx, { force: req.force });
      return Promise.resolve({
        messages: [{
          metadata: undefined,
          actorId: backend.shutdown(req.force),
        }],
      });
    },

    GetMachineConfig: (_req, ctx) => {
      // Only admins see secrets; everyone else (and a call without roles)
      // gets them replaced.
      const roles = (ctx.headers[HEADER_ROLES] ?? "").split(",").map((r) =>
        r.trim()
      );
      const redacted = !roles.includes("os:admin");
      if (!redacted) audit("GetMachineConfig", ctx, { secrets: true });
      const config = backend.machineConfig();
      const yaml = stringifyMachineConfig(
        redacted ? redactMachineConfig(config) : config,
      );
      return Promise.resolve({
        messages: [{
          metadata: undefined,
          data: utf8(yaml),
          redacted,
        }],
      });
    },

    ApplyConfiguration: async (req, ctx) => {
      audit("ApplyConfiguration", ctx, {
        mode: req.mode,
        dryRun: req.dryRun,
        bytes: req.data.length,
      });
      const applied = await backend.applyConfiguration(
        req.data,
        req.mode,
        req.dryRun,
      );
      return {
        messages: [{
          metadata: undefined,
          ...applied,
          diff: applied.diff ?? "",
        }],
      };
    },

    ConfigHistory: async (req) => {
      if (!backend.configHistory) {
        throw new ApiError(
          "Unimplemented",
          "this node keeps no config history",
        );
      }
      return {
        messages: [{
          metadata: undefined,
          ...(await backend.configHistory(req.withDiff)),
        }],
      };
    },

    Processes: async () => ({
      messages: [{ metadata: undefined, processes: await backend.processes() }],
    }),

    Memory: async () => {
      const m = await readMeminfo().catch((err) => {
        throw new ApiError("Unavailable", `cannot read /proc/meminfo: ${err}`);
      });
      // kB, as /proc and Talos report them.
      const kb = (n: number) => Math.round(n / 1024);
      return {
        messages: [{
          metadata: undefined,
          meminfo: {
            memtotal: kb(m.memTotal),
            memfree: kb(m.memFree),
            memavailable: kb(m.memAvailable),
            buffers: kb(m.buffers),
            cached: kb(m.cached),
            shmem: kb(m.shmem),
          },
        }],
      };
    },

    LoadAvg: async () => {
      const l = await readLoadavg().catch((err) => {
        throw new ApiError("Unavailable", `cannot read /proc/loadavg: ${err}`);
      });
      return { messages: [{ metadata: undefined, ...l }] };
    },

    Logs: async (req, ctx) => {
      if (!req.id) {
        throw new ApiError("InvalidArgument", "log id is required");
      }
      const batches = backend.logs.readBatches(req.id, {
        tail: req.tailLines,
        follow: req.follow,
        signal: ctx.signal,
      });
      for await (const batch of batches) {
        let chunk = "";
        for (const line of batch) {
          const text = formatLogLine(line);
          if (chunk.length + text.length > CHUNK_BYTES && chunk) {
            await ctx.send({ metadata: undefined, bytes: utf8(chunk) });
            chunk = "";
          }
          chunk += text;
        }
        if (chunk) {
          await ctx.send({ metadata: undefined, bytes: utf8(chunk) });
        }
      }
    },

    Events: async (req, ctx) => {
      for await (
        const e of backend.events.read({
          tail: req.tailEvents,
          follow: req.follow,
          signal: ctx.signal,
        })
      ) {
        await ctx.send(eventMessage(e));
      }
    },

    Dmesg: async (req, ctx) => {
      for await (
        const r of readKmsg({
          follow: req.follow,
          tail: req.tailLines,
          signal: ctx.signal,
        })
      ) {
        await ctx.send({
          metadata: undefined,
          bytes: utf8(formatKmsgRecord(r)),
        });
      }
    },
  };
}
