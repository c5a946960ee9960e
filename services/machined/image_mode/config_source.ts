/**
 * Where an image-mode node's machine config comes from, in order (as Talos
 * looks for it): the state partition (installed), the kernel command line
 * (`bronze.config=` inline base64, or naming a source), a config drive
 * (QEMU fw_cfg entry `opt/bronze/config`). The first valid config found on
 * the command line or a drive is written to the state partition. None:
 * maintenance mode.
 * @module
 */
import {
  type MachineConfig,
  MAX_CONFIG_BYTES,
  parseMachineConfig,
} from "../../../lib/config/mod.ts";
import { errorText } from "../../../lib/log/mod.ts";
import { kernelArg, parseConfigArg } from "./kernel_args.ts";

/** The fw_cfg entry a QEMU launcher passes the config in. */
export const FW_CFG_CONFIG_NAME = "opt/bronze/config";
/** Where the qemu_fw_cfg module shows fw_cfg entries. */
export const FW_CFG_BY_NAME = "/sys/firmware/qemu_fw_cfg/by_name";
/** The config's file on the state partition. */
export const STATE_CONFIG_FILE = "config.yaml";

/** A config found, and where. */
export interface FoundConfig {
  /** The validated config. */
  config: MachineConfig;
  /** Its YAML text. */
  yaml: string;
  /** Where it came from (for the console). */
  source: string;
  /** Whether it should be written to the state partition. */
  persist: boolean;
}

/** What config discovery reads (tests pass fakes). */
export interface ConfigSources {
  /** The state partition's config file bytes, undefined when absent. */
  stateFile(): Promise<Uint8Array | undefined>;
  /** /proc/cmdline. */
  cmdline(): Promise<string>;
  /** The fw_cfg entry's bytes, undefined when there is none. */
  fwCfg(): Promise<Uint8Array | undefined>;
}

/** Options for {@linkcode acquireConfig}. */
export interface AcquireOptions {
  /** Problems and skipped sources are reported here. */
  warn: (message: string) => void;
}

function tryParse(
  data: Uint8Array,
  source: string,
  warn: (m: string) => void,
): MachineConfig | undefined {
  if (data.length > MAX_CONFIG_BYTES) {
    warn(`${source}: config is ${data.length} bytes, over ${MAX_CONFIG_BYTES}`);
    return undefined;
  }
  try {
    return parseMachineConfig(data, source);
  } catch (err) {
    warn(`${source}: ignoring an invalid config: ${errorText(err)}`);
    return undefined;
  }
}

/**
 * Finds the machine config; undefined means maintenance mode. An invalid
 * config at one source is reported and the next source is tried.
 */
export async function acquireConfig(
  sources: ConfigSources,
  options: AcquireOptions,
): Promise<FoundConfig | undefined> {
  const { warn } = options;
  const found = (
    data: Uint8Array,
    source: string,
    persist: boolean,
  ): FoundConfig | undefined => {
    const config = tryParse(data, source, warn);
    return config && {
      config,
      yaml: new TextDecoder().decode(data),
      source,
      persist,
    };
  };
  const state = await sources.stateFile();
  if (state) {
    const f = found(state, "the state partition", false);
    if (f) return f;
  }
  const cmdline = await sources.cmdline();
  const arg = kernelArg(cmdline, "bronze.config");
  let probeDrive = true;
  if (arg !== undefined) {
    let parsed;
    try {
      parsed = parseConfigArg(arg);
    } catch (err) {
      warn(errorText(err));
    }
    if (parsed?.kind === "inline") {
      const f = found(parsed.data, "the kernel command line", true);
      if (f) return f;
    }
    if (parsed?.kind === "none") probeDrive = false;
  }
  if (probeDrive) {
    const drive = await sources.fwCfg();
    if (drive) {
      const f = found(drive, `QEMU fw_cfg ${FW_CFG_CONFIG_NAME}`, true);
      if (f) return f;
    }
  }
  return undefined;
}

async function readOptional(path: string): Promise<Uint8Array | undefined> {
  try {
    return await Deno.readFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw new Error(`Cannot read ${path}`, { cause: err });
  }
}

/** The real sources: the state folder, /proc/cmdline, sysfs fw_cfg. */
export function systemConfigSources(
  stateDir: string | undefined,
): ConfigSources {
  return {
    stateFile: () =>
      stateDir
        ? readOptional(`${stateDir}/${STATE_CONFIG_FILE}`)
        : Promise.resolve(undefined),
    cmdline: () => Deno.readTextFile("/proc/cmdline"),
    fwCfg: () => readOptional(`${FW_CFG_BY_NAME}/${FW_CFG_CONFIG_NAME}/raw`),
  };
}

/** Writes the config to the state folder atomically, owner-only. */
export async function saveStateConfig(
  stateDir: string,
  yaml: string,
): Promise<void> {
  const path = `${stateDir}/${STATE_CONFIG_FILE}`;
  const tmp = `${path}.tmp`;
  await Deno.writeTextFile(tmp, yaml, { mode: 0o600 });
  const f = await Deno.open(tmp, { read: true, write: true });
  try {
    await f.sync();
  } finally {
    f.close();
  }
  await Deno.rename(tmp, path);
}
