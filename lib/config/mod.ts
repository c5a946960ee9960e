/**
 * The v1alpha1 machine config: types, strict YAML parsing, validation that
 * reports every problem with its path, redaction and serialisation.
 * @module
 */
export type {
  CertificateAndKey,
  ClusterSection,
  EtcdSection,
  InstallConfig,
  LoggingConfig,
  MachineConfig,
  MachineSection,
  MachineType,
  NetworkConfig,
  NetworkInterfaceConfig,
  RouteConfig,
} from "./types.ts";
export { MACHINE_TYPES } from "./types.ts";
export { ConfigValidationError, formatProblem } from "./errors.ts";
export type { ConfigProblem } from "./errors.ts";
export {
  loadMachineConfig,
  parseMachineConfig,
  stringifyMachineConfig,
} from "./parse.ts";
export {
  MAX_CONFIG_ALIASES,
  MAX_CONFIG_BYTES,
  MAX_CONFIG_DEPTH,
  parseYaml,
  parseYamlDocuments,
  readBoundedFile,
  stringifyYaml,
} from "./yaml.ts";
export type { YamlSource } from "./yaml.ts";
export {
  LOG_LEVELS,
  MAX_PROBLEMS,
  TOKEN_PATTERN,
  validateMachineConfig,
} from "./validate.ts";
export { REDACTED, redactMachineConfig } from "./redact.ts";
export { parseEndpoint } from "./net_syntax.ts";
export type { Endpoint } from "./net_syntax.ts";
export {
  bundleCa,
  generateSecretsBundle,
  generateToken,
  loadSecretsBundle,
  parseSecretsBundle,
  stringifySecretsBundle,
} from "./secrets.ts";
export type { GenerateSecretsOptions, SecretsBundle } from "./secrets.ts";
export { generateMachineConfigs } from "./generate.ts";
export type { GenerateConfigOptions } from "./generate.ts";
export {
  applyConfigPatches,
  loadConfigPatch,
  machineConfigFromDocuments,
  parseConfigDocuments,
  patchConfigText,
  stringifyConfigDocuments,
} from "./patch.ts";
export type { ConfigPatch } from "./patch.ts";
export { applyJsonPatch, parsePointer, toJsonPatch } from "./json_patch.ts";
export type { JsonPatchOp, JsonPatchOperation } from "./json_patch.ts";
export { documentId, mergeValue, strategicMerge } from "./strategic_merge.ts";
export { PatchError } from "./patch_error.ts";
export { configDiff, redactDocument, unifiedDiff } from "./config_diff.ts";
export type { DiffOptions } from "./config_diff.ts";
