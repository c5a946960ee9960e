import type { MachineConfig } from "./types.ts";

/** What a redacted secret reads as. */
export const REDACTED = "******";

/** Returns a deep copy of `config` with every secret replaced by "******". */
export function redactMachineConfig(config: MachineConfig): MachineConfig {
  const copy = structuredClone(config);
  copy.machine.token = REDACTED;
  if (copy.machine.ca.key !== undefined) copy.machine.ca.key = REDACTED;
  const etcdCa = copy.cluster.etcd?.ca;
  if (etcdCa?.key !== undefined) etcdCa.key = REDACTED;
  return copy;
}
