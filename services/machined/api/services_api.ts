/**
 * ServiceList, ServiceStart, ServiceStop and ServiceRestart. A stop or a
 * restart happens once the reply is out, so that a call stopping apid (the
 * caller's own path) still gets its answer.
 * @module
 */
import type { ServiceInfo } from "../../../lib/api/gen/machine/machine.ts";
import type { MethodHandlers } from "../../../lib/api/serve.ts";
import type { ServiceSnapshot } from "../runner/service_runner.ts";
import type { ApiLog } from "./audit.ts";
import { reply } from "./reply.ts";

/** An operation on a service through the API. */
export type ServiceOp = "start" | "stop" | "restart";

/** What the service handlers control. */
export interface ServiceControl {
  /** Every service, machined and nats included, in start order. */
  services(): ServiceSnapshot[];
  /** Throws ApiError unless the API may `op` service `id` now. */
  checkService(id: string, op: ServiceOp): void;
  /** Starts a service. */
  start(id: string): void;
  /** Stops a service. */
  stop(id: string): Promise<void>;
  /** Restarts a service. */
  restart(id: string): Promise<void>;
}

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

/** The service handlers. */
export function servicesApi(
  control: ServiceControl,
  api: ApiLog,
): Pick<
  MethodHandlers<"machined">,
  "ServiceList" | "ServiceStart" | "ServiceStop" | "ServiceRestart"
> {
  return {
    ServiceList: () => reply({ services: control.services().map(serviceInfo) }),
    ServiceStart: (req, ctx) => {
      api.audit("ServiceStart", ctx, { id: req.id });
      control.checkService(req.id, "start");
      control.start(req.id);
      return reply({ resp: `Service "${req.id}" started` });
    },
    ServiceStop: (req, ctx) => {
      api.audit("ServiceStop", ctx, { id: req.id });
      control.checkService(req.id, "stop");
      api.afterReply(ctx, `stop ${req.id}`, () => control.stop(req.id));
      return reply({ resp: `Service "${req.id}" stop requested` });
    },
    ServiceRestart: (req, ctx) => {
      api.audit("ServiceRestart", ctx, { id: req.id });
      control.checkService(req.id, "restart");
      api.afterReply(ctx, `restart ${req.id}`, () => control.restart(req.id));
      return reply({ resp: `Service "${req.id}" restart requested` });
    },
  };
}
