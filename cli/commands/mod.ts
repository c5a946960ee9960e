/**
 * The registry of osctl commands: each command lives in its own module here
 * and is listed once below.
 * @module
 */
import type { Command } from "../command.ts";
import { applyConfigCommand } from "./apply_config.ts";
import { CONFIG_COMMANDS } from "./config.ts";
import {
  clusterCreateCommand,
  clusterDestroyCommand,
  clusterShowCommand,
} from "./cluster.ts";
import { bootstrapCommand, ETCD_COMMANDS } from "./etcd.ts";
import { healthCommand } from "./health.ts";
import { genConfigCommand } from "./gen_config.ts";
import { machineconfigPatchCommand } from "./machineconfig_patch.ts";
import {
  editMachineconfigCommand,
  getMachineconfigCommand,
  patchMachineconfigCommand,
} from "./machineconfig.ts";
import { configHistoryCommand } from "./config_history.ts";
import { clusterStartCommand, clusterStopCommand } from "./cluster_power.ts";
import { validateCommand } from "./validate.ts";
import { configNewCommand } from "./config_new.ts";
import { dmesgCommand } from "./dmesg.ts";
import { eventsCommand } from "./events.ts";
import { logsCommand } from "./logs.ts";
import { rebootCommand } from "./reboot.ts";
import { serviceCommand } from "./service.ts";
import { shutdownCommand } from "./shutdown.ts";
import { versionCommand } from "./version.ts";
import { NODE_INFO_COMMANDS } from "./node_info.ts";
import { CONFIG_CONTEXT_COMMANDS } from "./config_contexts.ts";
import { GEN_PKI_COMMANDS } from "./gen_pki.ts";
import { GEN_RELEASE_COMMANDS } from "./gen_release.ts";
import { UPGRADE_COMMANDS } from "./upgrade.ts";
import { completionCommand } from "./completion.ts";
import { FILE_COMMANDS } from "./files.ts";
import { NODE_STATS_COMMANDS } from "./node_stats.ts";

/** Every osctl command, in help order. */
export const COMMANDS: readonly Command[] = [
  versionCommand,
  serviceCommand,
  logsCommand,
  eventsCommand,
  dmesgCommand,
  ...NODE_INFO_COMMANDS,
  ...FILE_COMMANDS,
  ...NODE_STATS_COMMANDS,
  rebootCommand,
  ...UPGRADE_COMMANDS,
  shutdownCommand,
  applyConfigCommand,
  configNewCommand,
  genConfigCommand,
  ...GEN_PKI_COMMANDS,
  ...GEN_RELEASE_COMMANDS,
  validateCommand,
  machineconfigPatchCommand,
  getMachineconfigCommand,
  patchMachineconfigCommand,
  editMachineconfigCommand,
  configHistoryCommand,
  ...CONFIG_COMMANDS,
  ...CONFIG_CONTEXT_COMMANDS,
  bootstrapCommand,
  ...ETCD_COMMANDS,
  healthCommand,
  clusterCreateCommand,
  clusterDestroyCommand,
  clusterShowCommand,
  clusterStopCommand,
  clusterStartCommand,
  completionCommand(() => COMMANDS),
];
