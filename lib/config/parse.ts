import { ConfigValidationError } from "./errors.ts";
import type { MachineConfig } from "./types.ts";
import { toMachineConfig, validateMachineConfig } from "./validate.ts";
import { parseYaml, readBoundedFile, stringifyYaml } from "./yaml.ts";

/**
 * Parses and validates a v1alpha1 machine config. Throws
 * {@linkcode ConfigValidationError} listing every problem.
 */
export function parseMachineConfig(
  input: string | Uint8Array,
  source?: string,
): MachineConfig {
  const raw = parseYaml(input, { what: "machine config", source });
  const problems = validateMachineConfig(raw);
  if (problems.length > 0) throw new ConfigValidationError(problems, source);
  return toMachineConfig(raw as Record<string, unknown>);
}

/** Reads, parses and validates a machine config file (size-capped). */
export async function loadMachineConfig(path: string): Promise<MachineConfig> {
  return parseMachineConfig(
    await readBoundedFile(path, "machine config"),
    path,
  );
}

/** Serialises a machine config to YAML (keys in schema order). */
export function stringifyMachineConfig(config: MachineConfig): string {
  return stringifyYaml(config);
}
