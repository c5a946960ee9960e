/**
 * Where a call goes, decided from its metadata as Talos's apid does: `node`
 * names one target (answer passed through), `nodes` many (answers merged),
 * neither the local node. A call forwarded by another apid is served locally.
 * @module
 */
import { ApiError } from "../../lib/api_error/mod.ts";
import { tryParseIp } from "../../lib/netaddr/mod.ts";

/** A target of a fan-out, and whether it is this node. */
export interface RouteTarget {
  /** The target as the client named it. */
  name: string;
  /** Where it is dialled: the member's address when named by hostname. */
  address?: string;
  /** Served over the local bus rather than forwarded. */
  self: boolean;
}

/** The route of one call. */
export type Route =
  | { kind: "local" }
  | { kind: "one"; target: string; address?: string }
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
  /**
   * The nodes this apid may forward to; undefined while no member list is
   * known, when any node address is allowed (as before membership).
   */
  members?: MemberDirectory;
}

/** The cluster's known nodes, as the router reads them. */
export interface MemberDirectory {
  /** Whether an address belongs to a member or to this node's config. */
  allows(address: string): boolean;
  /** A member's address by hostname (from the member list, never DNS). */
  addressOf(hostname: string): string | undefined;
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
    const targets = many.map((name) => checkTarget(name, options));
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
    const { name: target, self, address } = checkTarget(
      req.node[0].trim(),
      options,
    );
    if (self) return { kind: "local" };
    if (!options.canForward) throw noForwarding();
    return address === undefined
      ? { kind: "one", target }
      : { kind: "one", target, address };
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

/**
 * A target is an IP literal of a node (never a name a resolver would look
 * up), this node's own name, or a member's hostname. Unspecified, multicast
 * and broadcast addresses name no node; with a member list, only members'
 * addresses and this node's own are forwarded to.
 */
function checkTarget(target: string, options: RouteOptions): RouteTarget {
  const ip = target.length <= 45 ? tryParseIp(target) : undefined;
  if (ip) {
    const why = notANode(ip.bytes);
    if (why) throw invalidTarget(target, why);
    const self = options.isSelf(target);
    if (!self && options.members && !options.members.allows(target)) {
      throw notAMember(target);
    }
    return { name: target, self };
  }
  if (target.length <= 253 && HOSTNAME.test(target) && !target.includes(":")) {
    if (options.isSelf(target)) return { name: target, self: true };
    const address = options.members?.addressOf(target.toLowerCase());
    if (address !== undefined) {
      return options.isSelf(address)
        ? { name: target, self: true }
        : { name: target, self: false, address };
    }
    throw invalidTarget(
      target,
      options.members
        ? "no member has this hostname (names are not resolved)"
        : "other nodes are named by IP address (names are not resolved)",
    );
  }
  throw invalidTarget(target, "want an IP address without a port");
}

function invalidTarget(target: string, why: string): ApiError {
  const shown = target.length > 64
    ? `${JSON.stringify(target.slice(0, 64))}... (${target.length} characters)`
    : JSON.stringify(target);
  return new ApiError("InvalidArgument", `invalid target ${shown}: ${why}`);
}

/** Why an address cannot name a node, or undefined if it can. */
function notANode(bytes: Uint8Array): string | undefined {
  if (bytes.every((b) => b === 0)) return "the unspecified address";
  if (bytes.length === 4) {
    if (bytes[0] >= 224 && bytes[0] <= 239) return "a multicast address";
    if (bytes.every((b) => b === 255)) return "the broadcast address";
    return undefined;
  }
  if (bytes[0] === 0xff) return "a multicast address";
  return undefined;
}

function notAMember(target: string): ApiError {
  return new ApiError(
    "PermissionDenied",
    `refusing to forward to ${
      JSON.stringify(target)
    }: not a cluster member nor an address of this node's config`,
  );
}

function noForwarding(): ApiError {
  return new ApiError("PermissionDenied", "no request forwarding");
}
