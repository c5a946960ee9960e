/**
 * ApplyConfiguration's checks, shared by maintenance mode and a running
 * node: the request's YAML is parsed and validated with lib/config, and every
 * problem is returned at once as InvalidArgument.
 * @module
 */
import { ApiError } from "../../lib/api_error/mod.ts";
import {
  ConfigValidationError,
  type MachineConfig,
  parseMachineConfig,
} from "../../lib/config/mod.ts";
import { errorText } from "../../lib/log/mod.ts";

/** The modes ApplyConfiguration takes ("" means auto), as Talos names them. */
export type ApplyMode = "auto" | "no_reboot" | "reboot" | "staged" | "try";

const MODES: readonly string[] = [
  "auto",
  "no_reboot",
  "reboot",
  "staged",
  "try",
];

/** A validated ApplyConfiguration request. */
export interface CheckedApply {
  /** The config. */
  config: MachineConfig;
  /** The YAML as sent (what gets persisted). */
  yaml: string;
  /** The mode, "auto" when none was given. */
  mode: ApplyMode;
}

/**
 * Validates an ApplyConfiguration request: InvalidArgument naming every
 * problem of the config, or an unknown mode.
 */
export function checkApplyRequest(
  data: Uint8Array,
  mode: string,
): CheckedApply {
  const m = mode === "" ? "auto" : mode.replaceAll("-", "_");
  if (!MODES.includes(m)) {
    throw new ApiError(
      "InvalidArgument",
      `unknown apply mode ${JSON.stringify(mode)} (${MODES.join(", ")})`,
    );
  }
  if (data.length === 0) {
    throw new ApiError("InvalidArgument", "the request carries no config");
  }
  const yaml = new TextDecoder("utf-8", { fatal: false }).decode(data);
  try {
    return {
      config: parseMachineConfig(data, "the applied config"),
      yaml,
      mode: m as ApplyMode,
    };
  } catch (err) {
    if (err instanceof ConfigValidationError) {
      throw new ApiError("InvalidArgument", err.message);
    }
    throw new ApiError(
      "InvalidArgument",
      `cannot parse the config: ${errorText(err)}`,
    );
  }
}
