/**
 * Who may call what: the one table mapping every MachineService method to the
 * roles allowed to call it, and how a caller's roles are found. A method
 * missing from the table is admin-only.
 * @module
 */
import { ApiError } from "../../lib/bus/mod.ts";
import type { Role } from "../../lib/constants/mod.ts";

/** The rule of one method: who may call it, and whether it changes anything. */
export interface MethodRule {
  /** Roles allowed (any one suffices). */
  roles: readonly Role[];
  /** Changes the node (audited). */
  mutating: boolean;
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

/** Every MachineService method and who may call it. */
export const METHOD_RULES: Readonly<Record<string, MethodRule>> = {
  Version: READ,
  Hostname: READ,
  ServiceList: READ,
  ServiceStart: OPERATE,
  ServiceStop: OPERATE,
  ServiceRestart: OPERATE,
  Logs: READ,
  Events: READ,
  Dmesg: READ,
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
