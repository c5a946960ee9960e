/**
 * Where a call goes, decided from its metadata as Talos's apid does: `node`
 * names one target (answer passed through), `nodes` many (answers merged),
 * neither the local node. A call forwarded by another apid is served locally.
 * @module
 */
import { ApiError } from "../../lib/api_error/mod.ts";
import { ipFamily } from "../../lib/netaddr/mod.ts";

/** A target of a fan-out, and whether it is this node. */
export interface RouteTarget {
  /** The target as the client named it. */
  name: string;
  /** Served over the local bus rather than forwarded. */
  self: boolean;
}

/** The route of one call. */
export type Route =
  | { kind: "local" }
  | { kind: "one"; target: string }
  | { kind: "many"; targets: RouteTarget[] };

/** What the router reads from a call. */
export interface RouteRequest {
  /** Values of metadata `node`. */
  node: readonly string[];
  /** Values of metadata `nodes` (each may be a comma list). */
  nodes: readonly string[];
  /** The call came from another apid (loop breaker). */
  forwarded: boolean;
}

/** What the router knows about this node. */
export interface RouteOptions {
  /** Whether a target names this node. */
  isSelf(target: string): boolean;
  /** Whether this apid may forward to other nodes (control planes only). */
  canForward: boolean;
  /** Most targets one call may name. */
  maxTargets?: number;
}

const HOSTNAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9-]{1,63})*$/;
const DEFAULT_MAX_TARGETS = 256;

/** Decides where a call goes; throws InvalidArgument or PermissionDenied. */
export function route(req: RouteRequest, options: RouteOptions): Route {
  if (req.forwarded) return { kind: "local" };
  const max = options.maxTargets ?? DEFAULT_MAX_TARGETS;
  const many = splitTargets(req.nodes);
  if (req.nodes.length > 0) {
    if (many.length === 0) {
      throw new ApiError("InvalidArgument", "nodes metadata is empty");
    }
    if (many.length > max) {
      throw new ApiError(
        "InvalidArgument",
        `too many nodes: ${many.length} (at most ${max})`,
      );
    }
    const targets = many.map((name) => ({
      name: checkTarget(name),
      self: options.isSelf(name),
    }));
    if (!options.canForward && targets.some((t) => !t.self)) {
      throw noForwarding();
    }
    return { kind: "many", targets };
  }
  if (req.node.length > 0) {
    if (req.node.length !== 1 || req.node[0].includes(",")) {
      throw new ApiError(
        "InvalidArgument",
        "node metadata must be single-valued",
      );
    }
    const target = checkTarget(req.node[0].trim());
    if (options.isSelf(target)) return { kind: "local" };
    if (!options.canForward) throw noForwarding();
    return { kind: "one", target };
  }
  return { kind: "local" };
}

function splitTargets(values: readonly string[]): string[] {
  const out: string[] = [];
  for (const v of values) {
    for (const part of v.split(",")) {
      const t = part.trim();
      if (t && !out.includes(t)) out.push(t);
    }
  }
  return out;
}

function checkTarget(target: string): string {
  if (!isTarget(target)) {
    throw new ApiError(
      "InvalidArgument",
      `invalid target ${
        JSON.stringify(target)
      }: want a hostname or an IP address without a port`,
    );
  }
  return target;
}

/** A hostname, an IPv4 address or an IPv6 address (no port, no brackets). */
function isTarget(target: string): boolean {
  if (target.length === 0 || target.length > 253) return false;
  if (ipFamily(target) !== undefined) return true;
  if (target.includes(":")) return false;
  return HOSTNAME.test(target) && !/^[\d.]+$/.test(target);
}

function noForwarding(): ApiError {
  return new ApiError("PermissionDenied", "no request forwarding");
}
