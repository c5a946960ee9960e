/**
 * Who may call what, read from the method table (lib/api), and how a
 * caller's roles are found. A method missing from the table is admin-only
 * (and not served). The table, not the generated service definition, names
 * the methods, so apid loads none of the message codecs it passes through as
 * bytes (~1.3 MiB of its memory); a test checks the table against the
 * definition.
 * @module
 */
import {
  MACHINE_SERVICE_PATH,
  METHOD_NAMES,
  METHODS,
  type MethodSpec,
  methodSpec,
} from "../../lib/api/mod.ts";
import { ApiError } from "../../lib/api_error/mod.ts";
import type { RawMethod } from "../../lib/grpc/mod.ts";

/** The rule of one method: who may call it, and whether it changes anything. */
export type MethodRule = Pick<MethodSpec, "roles" | "mutating">;

/** The rule of a method the table does not have: admin-only, audited. */
const ADMIN_ONLY: MethodRule = { roles: ["os:admin"], mutating: true };

/**
 * The methods apid serves: every one in the method table, at its
 * MachineService path and at the other paths the table gives it (Talos's).
 */
export function servedMethods(): RawMethod[] {
  return METHOD_NAMES.flatMap((name) => {
    const spec: MethodSpec = METHODS[name];
    return [MACHINE_SERVICE_PATH + name, ...spec.alsoAt ?? []].map((path) => ({
      name,
      path,
      responseStream: spec.stream,
    }));
  });
}

/** The rule of a method; admin-only (and audited) when it has none. */
export function ruleOf(method: string): MethodRule {
  return methodSpec(method) ?? ADMIN_ONLY;
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
