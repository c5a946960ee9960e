/**
 * GetMachineConfig (secrets replaced for everyone but admins), ConfigHistory
 * and ApplyConfiguration. Where machined owns the config (process mode: its
 * config lifecycle) every mode works; otherwise (image mode) the config is
 * validated (InvalidArgument listing every problem) and, unless it is a dry
 * run, persisted where the platform keeps it: "auto" and "reboot" then
 * reboot the node once the reply is out, "staged" waits for the next boot.
 * @module
 */
import type {
  ApplyConfigurationRequest,
  ConfigHistory,
} from "../../../lib/api/gen/machine/machine.ts";
import type { MethodHandlers } from "../../../lib/api/serve.ts";
import { ApiError } from "../../../lib/api_error/mod.ts";
import {
  type MachineConfig,
  redactMachineConfig,
  stringifyMachineConfig,
} from "../../../lib/config/mod.ts";
import { HEADER_CALLER, HEADER_ROLES } from "../../../lib/constants/mod.ts";
import type { Logger } from "../../../lib/log/mod.ts";
import { checkApplyRequest } from "../apply_config.ts";
import type { ApiLog } from "./audit.ts";
import type { PowerControl } from "./power_api.ts";
import { reply } from "./reply.ts";

/** What the config handlers read and change. */
export interface ConfigHost {
  /** The machine config the node runs with. */
  config(): MachineConfig;
  /** Persists an applied config; absent where it is not machined's to change. */
  saveConfig?: (yaml: string) => Promise<void>;
  /** The accepted configs' history (absent: the node keeps none). */
  configHistory?: (
    withDiff: boolean,
  ) => Promise<Omit<ConfigHistory, "metadata">>;
  /**
   * Applies a config in any mode for `actor` (the config lifecycle); absent
   * where the platform's saveConfig keeps the config.
   */
  apply?: (
    request: ApplyConfigurationRequest,
    actor: string,
  ) => Promise<{
    warnings: string[];
    mode: string;
    modeDetails: string;
    diff: string;
    reboot: boolean;
  }>;
  /** Whether the node is shutting down. */
  shuttingDown(): boolean;
  /** Reboots the node with the new config. */
  power: PowerControl;
}

const encoder = new TextEncoder();

/** The GetMachineConfig and ApplyConfiguration handlers. */
export function configApi(
  host: ConfigHost,
  api: ApiLog,
  log: Logger,
): Pick<
  MethodHandlers<"machined">,
  "GetMachineConfig" | "ConfigHistory" | "ApplyConfiguration"
> {
  let applying = false;
  return {
    GetMachineConfig: (_req, ctx) => {
      // Only admins see secrets; everyone else (and a call without roles)
      // gets them replaced.
      const roles = (ctx.headers[HEADER_ROLES] ?? "").split(",").map((r) =>
        r.trim()
      );
      const redacted = !roles.includes("os:admin");
      if (!redacted) api.audit("GetMachineConfig", ctx, { secrets: true });
      const config = host.config();
      const yaml = stringifyMachineConfig(
        redacted ? redactMachineConfig(config) : config,
      );
      return reply({ data: encoder.encode(yaml), redacted });
    },
    ConfigHistory: async (req) => {
      if (!host.configHistory) {
        throw new ApiError(
          "Unimplemented",
          "this node keeps no config history",
        );
      }
      return reply(await host.configHistory(req.withDiff));
    },
    ApplyConfiguration: async (req, ctx) => {
      api.audit("ApplyConfiguration", ctx, {
        mode: req.mode,
        dryRun: req.dryRun,
        force: req.force,
        rollback: req.rollback,
        bytes: req.data.length,
      });
      if (host.apply) {
        if (host.shuttingDown()) {
          throw new ApiError("Unavailable", "the node is shutting down");
        }
        const { reboot, ...applied } = await host.apply(
          req,
          ctx.headers[HEADER_CALLER] ?? "",
        );
        if (reboot) {
          api.afterReply(
            ctx,
            "reboot",
            host.power.beginReboot(crypto.randomUUID()),
          );
        }
        return reply(applied);
      }
      const checked = checkApplyRequest(req.data, req.mode);
      if (req.dryRun) {
        return reply({
          warnings: [],
          mode: checked.mode,
          modeDetails: "Dry run: the config is valid; nothing was applied",
          diff: "",
        });
      }
      if (!host.saveConfig) {
        throw new ApiError(
          "FailedPrecondition",
          "this node keeps no machine config of its own",
        );
      }
      if (checked.mode === "no_reboot" || checked.mode === "try") {
        throw new ApiError(
          "FailedPrecondition",
          "the config cannot be applied without a reboot: use mode auto, reboot or staged",
        );
      }
      if (host.shuttingDown() || applying) {
        throw new ApiError(
          "Unavailable",
          "the node is shutting down or applying a config",
        );
      }
      applying = true;
      try {
        await host.saveConfig(checked.yaml);
      } finally {
        applying = false;
      }
      log.info("machine config saved", { mode: checked.mode });
      if (checked.mode === "staged") {
        return reply({
          warnings: [],
          mode: checked.mode,
          modeDetails: "Staged: the config takes effect at the next reboot",
          diff: "",
        });
      }
      const reboot = host.power.beginReboot(crypto.randomUUID());
      api.afterReply(ctx, "reboot", reboot);
      return reply({
        warnings: [],
        mode: checked.mode,
        modeDetails: "Applied: the node reboots with the new config",
        diff: "",
      });
    },
  };
}
