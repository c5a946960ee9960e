/**
 * Who may call what: the one table of every MachineService method apid
 * serves, with the roles allowed to call it, and how a caller's roles are
 * found. A method missing from the table is admin-only (and not served). The
 * table, not the generated service definition, names the methods, so apid
 * loads none of the message codecs it passes through as bytes (~1.3 MiB of
 * its memory); a test checks the table against the definition.
 * @module
 */
import { ApiError } from "../../lib/bus/mod.ts";
import type { Role } from "../../lib/constants/mod.ts";
import type { RawMethod } from "../../lib/grpc/mod.ts";

/** The rule of one method: who may call it, and whether it changes anything. */
export interface MethodRule {
  /** Roles allowed (any one suffices). */
  roles: readonly Role[];
  /** Changes the node (audited). */
  mutating: boolean;
  /** Answers with a stream of messages. */
  responseStream?: boolean;
}

const READ: MethodRule = {
  roles: ["os:admin", "os:operator", "os:reader"],
  mutating: false,
};
const OPERATE: MethodRule = {
  roles: ["os:admin", "os:operator"],
  mutating: true,
};
const ADMIN: MethodRule = { roles: ["os:admin"], mutating: true };
const READ_STREAM: MethodRule = { ...READ, responseStream: true };

/** The gRPC path prefix of MachineService's methods. */
const SERVICE_PATH = "/machine.MachineService/";

/** Every MachineService method and who may call it. */
export const METHOD_RULES: Readonly<Record<string, MethodRule>> = {
  Version: READ,
  Hostname: READ,
  ServiceList: READ,
  ServiceStart: OPERATE,
  ServiceStop: OPERATE,
  ServiceRestart: OPERATE,
  Logs: READ_STREAM,
  Events: READ_STREAM,
  Dmesg: READ_STREAM,
  Reboot: OPERATE,
  Shutdown: OPERATE,
  ApplyConfiguration: ADMIN,
  // Readers get it with every secret replaced: machined redacts by role.
  GetMachineConfig: READ,
  GenerateClientConfiguration: ADMIN,
  Memory: READ,
  LoadAvg: READ,
  Links: READ,
  Addresses: READ,
  Routes: READ,
  Disks: READ,
  Processes: READ,
};

/** The methods apid serves: every one in {@linkcode METHOD_RULES}. */
export function servedMethods(): RawMethod[] {
  return Object.entries(METHOD_RULES).map(([name, rule]) => ({
    name,
    path: SERVICE_PATH + name,
    responseStream: rule.responseStream ?? false,
  }));
}

/** The rule of a method; admin-only (and audited) when it has none. */
export function ruleOf(method: string): MethodRule {
  return Object.hasOwn(METHOD_RULES, method) ? METHOD_RULES[method] : ADMIN;
}

/** Throws PermissionDenied unless one of `roles` may call `method`. */
export function authorize(method: string, roles: readonly string[]): void {
  const rule = ruleOf(method);
  if (!roles.some((r) => (rule.roles as readonly string[]).includes(r))) {
    throw new ApiError(
      "PermissionDenied",
      `not authorized: ${method} needs one of ${rule.roles.join(", ")}`,
    );
  }
}

/** Splits a comma list of roles, dropping blanks; unknown roles are kept. */
export function parseRoles(values: readonly string[]): string[] {
  const out: string[] = [];
  for (const v of values) {
    for (const r of v.split(",")) {
      const role = r.trim();
      if (role && !out.includes(role)) out.push(role);
    }
  }
  return out;
}

/**
 * The caller's effective roles: those of its certificate, unless the peer is
 * an os:impersonator (a forwarding apid) that names roles in metadata, which
 * then replace them. Anyone else's role metadata is ignored.
 */
export function effectiveRoles(
  certRoles: readonly string[],
  metadataRoles: readonly string[],
): string[] {
  const own = parseRoles(certRoles);
  if (!own.includes("os:impersonator")) return own;
  const claimed = parseRoles(metadataRoles);
  return claimed.length > 0 ? claimed : own;
}
