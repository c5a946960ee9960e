/**
 * machined's part of MachineService on the bus: the handlers, grouped by
 * subject, put together into one handler for each method the method table
 * gives machined (a missing one is a type error). Every mutating call is
 * audit-logged with the caller and roles apid put in the headers.
 * @module
 */
import { serveMethods } from "../../../lib/api/serve.ts";
import type { Bus } from "../../../lib/bus/mod.ts";
import type { Logger } from "../../../lib/log/mod.ts";
import type { EventLog } from "../event_log.ts";
import type { LogStore } from "../log_store.ts";
import { apiLog } from "./audit.ts";
import {
  type ClientConfigSource,
  generateClientConfiguration,
} from "./client_config_api.ts";
import { configApi, type ConfigHost } from "./config_api.ts";
import type { FileRoots } from "../files/file_roots.ts";
import { fileApi } from "./file_api.ts";
import { logApi } from "./log_api.ts";
import { powerApi } from "./power_api.ts";
import { type ServiceControl, servicesApi } from "./services_api.ts";
import { statsApi } from "./stats_api.ts";
import { systemApi } from "./system_api.ts";
import { timeApi } from "./time_api.ts";
import { type NodeIdentity, versionApi } from "./version_api.ts";
import { upgradeApi, type UpgradeControl } from "./upgrade_api.ts";
import { etcdHandlers } from "../etcd/etcd_api.ts";
import type { EtcdService } from "../etcd/etcd_service.ts";

/** What the machine API serves from. */
export interface MachineApiSources {
  /** Version and Hostname. */
  identity: NodeIdentity;
  /** The services (and their processes). */
  services: ServiceControl;
  /** The machine config, and the reboot an applied one asks for. */
  config: ConfigHost;
  /** Captured logs. */
  logs: LogStore;
  /** Runtime events. */
  events: EventLog;
  /** Where GenerateClientConfiguration finds the CA and the endpoint. */
  clientConfig: ClientConfigSource;
  /** The folders List, DiskUsage, Read and Copy serve. */
  files: FileRoots;
  /** The node's etcd member (control planes only). */
  etcd?: EtcdService;
  /** Upgrade and Rollback (process mode). */
  upgrades?: UpgradeControl;
}

/** Serves machined's part of MachineService on the bus. */
export function serveMachineApi(
  bus: Bus,
  sources: MachineApiSources,
  log: Logger,
): void {
  const api = apiLog(log);
  serveMethods(bus, "machined", {
    ...versionApi(sources.identity),
    ...servicesApi(sources.services, api),
    ...powerApi(sources.config.power, api),
    ...configApi(sources.config, api, log),
    ...systemApi(sources.services),
    ...logApi(sources.logs, sources.events),
    ...fileApi(sources.files),
    ...etcdHandlers(sources.etcd, log),
    ...statsApi(),
    ...timeApi(),
    ...upgradeApi(sources.upgrades, api),
    GenerateClientConfiguration: generateClientConfiguration(
      sources.clientConfig,
      log,
    ),
  });
}
