/**
 * Ports, bus subjects, service names, roles and paths shared by the daemons
 * and osctl. One place, so nothing disagrees.
 * @module
 */

/** apid's mTLS gRPC port. */
export const APID_PORT = 50000;
/** trustd's TLS gRPC port (control planes only). */
export const TRUSTD_PORT = 50001;
/** Node certificates' default lifetime: 24 h, renewed at half-life. */
export const NODE_CERT_TTL_MS = 24 * 3600 * 1000;
/** Client certificates' default lifetime: 1 year (`osctl config new`). */
export const CLIENT_CERT_TTL_MS = 8760 * 3600 * 1000;
/** Shortest node certificate lifetime accepted (tests use a few seconds). */
export const MIN_NODE_CERT_TTL_MS = 2000;

/** etcd's client port (mTLS, etcd CA), on control planes' node address. */
export const ETCD_CLIENT_PORT = 2379;
/** etcd's peer port (mTLS, etcd CA). */
export const ETCD_PEER_PORT = 2380;

/** The node-local NATS port, bound to the node's own address only. */
export const NATS_PORT = 4222;

/** The daemons machined supervises (nats-server is supervised but not ours). */
export type DaemonName = "machined" | "apid" | "trustd" | "networkd" | "udevd";
/** Every daemon that has a NATS user. */
export const DAEMONS: readonly DaemonName[] = [
  "machined",
  "apid",
  "trustd",
  "networkd",
  "udevd",
];

/** Service ids as ServiceList reports them. */
export type ServiceId =
  | "machined"
  | "nats"
  | "udevd"
  | "networkd"
  | "trustd"
  | "apid";

/** The subject a daemon answers its health request on. */
export function healthSubject(daemon: DaemonName): string {
  return `${daemon}.health`;
}

/**
 * Where a daemon tells machined that its health may have changed (it just
 * connected, or became ready), so machined checks it at once instead of at
 * its next poll. The notice carries nothing: machined still asks.
 */
export function healthNoticeSubject(daemon: DaemonName): string {
  return `machined.notice.health.${daemon}`;
}

/** Every daemon's health notices, as machined subscribes to them. */
export const HEALTH_NOTICES = "machined.notice.health.*";

/** The daemon a health notice subject names, if it names one. */
export function healthNoticeDaemon(subject: string): DaemonName | undefined {
  const prefix = HEALTH_NOTICES.slice(0, -1);
  if (!subject.startsWith(prefix)) return undefined;
  const name = subject.slice(prefix.length);
  return DAEMONS.find((d) => d === name);
}

/**
 * Where machined hands networkd a changed network section to reconcile
 * live: JSON `{network, hostname}` in, JSON `{changes, applied}` back.
 * Outside networkd's rpc/stream/ctl subjects, so only machined may send it.
 */
export const NETWORK_CONFIG_SUBJECT = "networkd.config.network";

/** The subject a daemon serves a unary API method on. */
export function rpcSubject(daemon: DaemonName, method: string): string {
  return `${daemon}.rpc.${method}`;
}

/** The subject a daemon serves a server-streaming API method on. */
export function streamSubject(daemon: DaemonName, method: string): string {
  return `${daemon}.stream.${method}`;
}

/** The inbox prefix of a daemon's NATS connection (replies come back here). */
export function inboxPrefix(daemon: DaemonName): string {
  return `_INBOX_${daemon}`;
}

/** The largest message nats-server takes (its max_payload). */
export const BUS_MAX_PAYLOAD_BYTES = 8 * 1024 * 1024;
/**
 * The largest API request or reply apid takes or forwards: what the bus
 * carries, less room for its headers. Larger is RESOURCE_EXHAUSTED at the
 * edge, before anything is forwarded.
 */
export const API_MAX_MESSAGE_BYTES = BUS_MAX_PAYLOAD_BYTES - 64 * 1024;

/** The API roles carried in a client certificate's Organization. */
export type Role = "os:admin" | "os:operator" | "os:reader" | "os:impersonator";
/** Every role Bronze knows. */
export const ROLES: readonly Role[] = [
  "os:admin",
  "os:operator",
  "os:reader",
  "os:impersonator",
];

/** Bus header: the roles of the API caller, set by apid. */
export const HEADER_ROLES = "bronze-roles";
/** Bus header: who called (client certificate CN), set by apid for audit. */
export const HEADER_CALLER = "bronze-caller";
/** Bus header: error code name on a failed reply. */
export const HEADER_ERROR_CODE = "bronze-error-code";
/** Bus header: error message on a failed reply. */
export const HEADER_ERROR_MESSAGE = "bronze-error-message";

/** gRPC metadata: one target node; its answer is passed through as is. */
export const METADATA_NODE = "node";
/** gRPC metadata: many target nodes; their answers are merged and tagged. */
export const METADATA_NODES = "nodes";
/** gRPC metadata: set by a forwarding apid; the receiver serves locally. */
export const METADATA_PROXY_FROM = "bronze-proxyfrom";
