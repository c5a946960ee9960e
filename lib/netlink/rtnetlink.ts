/**
 * rtnetlink (NETLINK_ROUTE) requests and replies for links, addresses and
 * routes: pure builders and parsers, tested with byte fixtures.
 * @module
 */
import { type AddressFamily, formatIp, maxPrefix } from "../netaddr/mod.ts";
import {
  attributeMap,
  concatBytes,
  encodeAttribute,
  encodeMessage,
  NetlinkParseError,
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  NLM_F_REQUEST,
  readString,
  readU32,
  readU8,
  u32Value,
} from "./netlink_message.ts";

/** AF_INET. */
export const AF_INET = 2;
/** AF_INET6. */
export const AF_INET6 = 10;

/** The kernel's AF_* number of a family. */
export function familyNumber(family: AddressFamily): number {
  return family === "inet" ? AF_INET : AF_INET6;
}

/** The family of a kernel AF_* number, or undefined for others. */
export function familyName(af: number): AddressFamily | undefined {
  if (af === AF_INET) return "inet";
  if (af === AF_INET6) return "inet6";
  return undefined;
}

/** NETLINK_ROUTE protocol number. */
export const NETLINK_ROUTE = 0;

/** RTM_NEWLINK. */
export const RTM_NEWLINK = 16;
/** RTM_DELLINK. */
export const RTM_DELLINK = 17;
/** RTM_GETLINK. */
export const RTM_GETLINK = 18;
/** RTM_NEWADDR. */
export const RTM_NEWADDR = 20;
/** RTM_DELADDR. */
export const RTM_DELADDR = 21;
/** RTM_GETADDR. */
export const RTM_GETADDR = 22;
/** RTM_NEWROUTE. */
export const RTM_NEWROUTE = 24;
/** RTM_DELROUTE. */
export const RTM_DELROUTE = 25;
/** RTM_GETROUTE. */
export const RTM_GETROUTE = 26;

const IFINFOMSG_LEN = 16;
const IFADDRMSG_LEN = 8;
const RTMSG_LEN = 12;

const IFLA_ADDRESS = 1;
const IFLA_IFNAME = 3;
const IFLA_MTU = 4;
const IFLA_MASTER = 10;
const IFLA_OPERSTATE = 16;
const IFLA_LINKINFO = 18;
const IFLA_INFO_KIND = 1;

const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const IFA_LABEL = 3;
const IFA_BROADCAST = 4;
const IFA_FLAGS = 8;
const IFA_PROTO = 11;

const RTA_DST = 1;
const RTA_OIF = 4;
const RTA_GATEWAY = 5;
const RTA_PRIORITY = 6;
const RTA_PREFSRC = 7;
const RTA_MULTIPATH = 9;
const RTA_TABLE = 15;

/** IFF_UP. */
export const IFF_UP = 0x1;
/** RT_TABLE_MAIN. */
export const RT_TABLE_MAIN = 254;
/** RT_TABLE_LOCAL. */
export const RT_TABLE_LOCAL = 255;
/** RTPROT_STATIC: a route set by an administrator. */
export const RTPROT_STATIC = 4;
/** RT_SCOPE_UNIVERSE. */
export const RT_SCOPE_UNIVERSE = 0;
/** RT_SCOPE_LINK. */
export const RT_SCOPE_LINK = 253;
/** RT_SCOPE_NOWHERE (on delete: any scope). */
export const RT_SCOPE_NOWHERE = 255;
/** RTN_UNICAST. */
export const RTN_UNICAST = 1;
/** RTM_F_CLONED: a cached route, not a configured one. */
const RTM_F_CLONED = 0x200;

const LINK_FLAGS: ReadonlyArray<readonly [number, string]> = [
  [0x1, "UP"],
  [0x2, "BROADCAST"],
  [0x4, "DEBUG"],
  [0x8, "LOOPBACK"],
  [0x10, "POINTOPOINT"],
  [0x20, "NOTRAILERS"],
  [0x40, "RUNNING"],
  [0x80, "NOARP"],
  [0x100, "PROMISC"],
  [0x200, "ALLMULTI"],
  [0x400, "MASTER"],
  [0x800, "SLAVE"],
  [0x1000, "MULTICAST"],
  [0x2000, "PORTSEL"],
  [0x4000, "AUTOMEDIA"],
  [0x8000, "DYNAMIC"],
  [0x10000, "LOWER_UP"],
  [0x20000, "DORMANT"],
  [0x40000, "ECHO"],
];

const OPER_STATES = [
  "unknown",
  "notpresent",
  "down",
  "lowerlayerdown",
  "testing",
  "dormant",
  "up",
];

const SCOPES: Readonly<Record<number, string>> = {
  0: "global",
  200: "site",
  253: "link",
  254: "host",
  255: "nowhere",
};

const ROUTE_TYPES = [
  "unspec",
  "unicast",
  "local",
  "broadcast",
  "anycast",
  "multicast",
  "blackhole",
  "unreachable",
  "prohibit",
  "throw",
  "nat",
  "xresolve",
];

/** A network link as the kernel reports it. */
export interface LinkStatus {
  /** ifindex. */
  index: number;
  /** Interface name. */
  name: string;
  /** Hardware address "aa:bb:..", empty when there is none. */
  hardwareAddr: string;
  /** MTU in bytes. */
  mtu: number;
  /** Operational state ("up", "down", "unknown", ...). */
  operState: string;
  /** IFF_* flag names ("UP", "LOOPBACK", ...). */
  flags: string[];
  /** The raw IFF_* flags. */
  rawFlags: number;
  /** Link kind from IFLA_INFO_KIND ("veth", "bridge", ...); "" for hardware. */
  kind: string;
  /** ARPHRD_* device type. */
  type: number;
  /** ifindex of the master (bridge/bond), 0 when none. */
  master: number;
}

/** An interface address as the kernel reports it. */
export interface AddressStatus {
  /** ifindex of the link. */
  index: number;
  /** "inet" or "inet6". */
  family: AddressFamily;
  /** "10.0.0.2/24". */
  address: string;
  /** The address bytes. */
  bytes: Uint8Array;
  /** Prefix length. */
  prefix: number;
  /** "global", "link", "host", ... */
  scope: string;
  /** IFA_LABEL (IPv4 only), "" otherwise. */
  label: string;
  /** IFA_F_* flags (IFA_FLAGS when present). */
  flags: number;
  /** IFA_PROTO: who added it (0 when unknown or an old kernel). */
  proto: number;
}

/** A route as the kernel reports it. */
export interface RouteStatus {
  /** "inet" or "inet6". */
  family: AddressFamily;
  /** Destination in CIDR form ("0.0.0.0/0" for a default route). */
  destination: string;
  /** Destination bytes (zeros for a default route). */
  dstBytes: Uint8Array;
  /** Destination prefix length. */
  dstPrefix: number;
  /** Gateway address, "" when the route has none. */
  gateway: string;
  /** Output ifindex, 0 when none. */
  oif: number;
  /** RTA_PRIORITY (the metric). */
  priority: number;
  /** Routing table id. */
  table: number;
  /** RTPROT_* (who installed it). */
  protocol: number;
  /** "global", "link", "host", ... */
  scope: string;
  /** "unicast", "local", "broadcast", ... */
  type: string;
  /** Preferred source address, "" when none. */
  prefsrc: string;
}

function header(
  payload: Uint8Array,
  what: string,
  size: number,
): DataView {
  if (payload.length < size) {
    throw new NetlinkParseError(
      `Cannot parse ${what}: ${payload.length} bytes, expected at least ${size}`,
    );
  }
  return new DataView(payload.buffer, payload.byteOffset, size);
}

function flagNames(flags: number): string[] {
  return LINK_FLAGS.filter(([bit]) => flags & bit).map(([, n]) => n);
}

function scopeName(scope: number): string {
  return SCOPES[scope] ?? String(scope);
}

function hardwareAddr(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(":");
}

function ipOf(value: Uint8Array, family: AddressFamily, what: string): string {
  const want = family === "inet" ? 4 : 16;
  if (value.length !== want) {
    throw new NetlinkParseError(
      `Cannot parse ${what}: ${value.length} bytes, expected ${want}`,
    );
  }
  return formatIp(value);
}

/** Parses an RTM_NEWLINK payload (ifinfomsg + attributes). */
export function parseLinkMessage(payload: Uint8Array): LinkStatus {
  const h = header(payload, "link message", IFINFOMSG_LEN);
  const index = h.getInt32(4, true);
  const rawFlags = h.getUint32(8, true);
  const attrs = attributeMap(
    payload.subarray(IFINFOMSG_LEN),
    `link ${index} attributes`,
  );
  const nameAttr = attrs.get(IFLA_IFNAME);
  if (!nameAttr) {
    throw new NetlinkParseError(`Cannot parse link ${index}: no IFLA_IFNAME`);
  }
  const name = readString(nameAttr);
  let kind = "";
  const info = attrs.get(IFLA_LINKINFO);
  if (info) {
    const k = attributeMap(info, `link "${name}" IFLA_LINKINFO`).get(
      IFLA_INFO_KIND,
    );
    if (k) kind = readString(k);
  }
  const mtu = attrs.get(IFLA_MTU);
  const oper = attrs.get(IFLA_OPERSTATE);
  const operNum = oper ? readU8(oper, `link "${name}" IFLA_OPERSTATE`) : 0;
  const hw = attrs.get(IFLA_ADDRESS);
  const master = attrs.get(IFLA_MASTER);
  return {
    index,
    name,
    hardwareAddr: hw ? hardwareAddr(hw) : "",
    mtu: mtu ? readU32(mtu, `link "${name}" IFLA_MTU`) : 0,
    operState: OPER_STATES[operNum] ?? String(operNum),
    flags: flagNames(rawFlags),
    rawFlags,
    kind,
    type: h.getUint16(2, true),
    master: master ? readU32(master, `link "${name}" IFLA_MASTER`) : 0,
  };
}

/**
 * Parses an RTM_NEWADDR payload; undefined for families other than IPv4
 * and IPv6.
 */
export function parseAddressMessage(
  payload: Uint8Array,
): AddressStatus | undefined {
  const h = header(payload, "address message", IFADDRMSG_LEN);
  const family = familyName(h.getUint8(0));
  if (!family) return undefined;
  const prefix = h.getUint8(1);
  const index = h.getUint32(4, true);
  const where = `address on link ${index}`;
  if (prefix > maxPrefix(family)) {
    throw new NetlinkParseError(
      `Cannot parse ${where}: prefix length ${prefix} out of range`,
    );
  }
  const attrs = attributeMap(payload.subarray(IFADDRMSG_LEN), where);
  // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer on a
  // point-to-point link, and the only one for IPv6.
  const value = attrs.get(IFA_LOCAL) ?? attrs.get(IFA_ADDRESS);
  if (!value) {
    throw new NetlinkParseError(`Cannot parse ${where}: no IFA_ADDRESS`);
  }
  const ip = ipOf(value, family, where);
  const label = attrs.get(IFA_LABEL);
  const flags = attrs.get(IFA_FLAGS);
  const proto = attrs.get(IFA_PROTO);
  return {
    index,
    family,
    address: `${ip}/${prefix}`,
    bytes: value.slice(),
    prefix,
    scope: scopeName(h.getUint8(3)),
    label: label ? readString(label) : "",
    flags: flags ? readU32(flags, `${where} IFA_FLAGS`) : h.getUint8(2),
    proto: proto ? readU8(proto, `${where} IFA_PROTO`) : 0,
  };
}

/**
 * Parses an RTM_NEWROUTE payload; undefined for other families and for
 * cached (cloned) routes.
 */
export function parseRouteMessage(
  payload: Uint8Array,
): RouteStatus | undefined {
  const h = header(payload, "route message", RTMSG_LEN);
  const family = familyName(h.getUint8(0));
  if (!family) return undefined;
  if (h.getUint32(8, true) & RTM_F_CLONED) return undefined;
  const dstPrefix = h.getUint8(1);
  if (dstPrefix > maxPrefix(family)) {
    throw new NetlinkParseError(
      `Cannot parse route: destination prefix length ${dstPrefix} out of range`,
    );
  }
  const attrs = attributeMap(payload.subarray(RTMSG_LEN), "route attributes");
  const dst = attrs.get(RTA_DST);
  const dstBytes = dst
    ? new Uint8Array(dst)
    : new Uint8Array(family === "inet" ? 4 : 16);
  const destination = `${ipOf(dstBytes, family, "route RTA_DST")}/${dstPrefix}`;
  let gateway = "";
  let oif = 0;
  const gw = attrs.get(RTA_GATEWAY);
  if (gw) gateway = ipOf(gw, family, `route ${destination} RTA_GATEWAY`);
  const oifAttr = attrs.get(RTA_OIF);
  if (oifAttr) oif = readU32(oifAttr, `route ${destination} RTA_OIF`);
  const mp = attrs.get(RTA_MULTIPATH);
  if (mp && !gw && !oifAttr) {
    const first = firstNexthop(mp, family, destination);
    gateway = first.gateway;
    oif = first.oif;
  }
  const prio = attrs.get(RTA_PRIORITY);
  const table = attrs.get(RTA_TABLE);
  const prefsrc = attrs.get(RTA_PREFSRC);
  const type = h.getUint8(7);
  return {
    family,
    destination,
    dstBytes,
    dstPrefix,
    gateway,
    oif,
    priority: prio ? readU32(prio, `route ${destination} RTA_PRIORITY`) : 0,
    table: table
      ? readU32(table, `route ${destination} RTA_TABLE`)
      : h.getUint8(4),
    protocol: h.getUint8(5),
    scope: scopeName(h.getUint8(6)),
    type: ROUTE_TYPES[type] ?? String(type),
    prefsrc: prefsrc ? ipOf(prefsrc, family, `route ${destination}`) : "",
  };
}

function firstNexthop(
  mp: Uint8Array,
  family: AddressFamily,
  destination: string,
): { gateway: string; oif: number } {
  // struct rtnexthop { u16 len; u8 flags; u8 hops; i32 ifindex; } + attrs
  const where = `route ${destination} RTA_MULTIPATH`;
  if (mp.length < 8) return { gateway: "", oif: 0 };
  const v = new DataView(mp.buffer, mp.byteOffset, mp.byteLength);
  const len = v.getUint16(0, true);
  if (len < 8 || len > mp.length) {
    throw new NetlinkParseError(
      `Cannot parse ${where}: next hop length ${len}, ${mp.length} bytes`,
    );
  }
  const gw = attributeMap(mp.subarray(8, len), where).get(RTA_GATEWAY);
  return {
    gateway: gw ? ipOf(gw, family, where) : "",
    oif: v.getInt32(4, true),
  };
}

/** A dump request (RTM_GETLINK/GETADDR/GETROUTE) for every family. */
export function dumpRequest(
  type: typeof RTM_GETLINK | typeof RTM_GETADDR | typeof RTM_GETROUTE,
  seq: number,
): Uint8Array {
  const size = type === RTM_GETLINK
    ? IFINFOMSG_LEN
    : type === RTM_GETADDR
    ? IFADDRMSG_LEN
    : RTMSG_LEN;
  return encodeMessage(
    { type, flags: NLM_F_REQUEST | NLM_F_DUMP, seq },
    new Uint8Array(size),
  );
}

/** What to change on a link; unset fields are left alone. */
export interface LinkChange {
  /** ifindex of the link. */
  index: number;
  /** Bring the link up (true) or down (false). */
  up?: boolean;
  /** New MTU. */
  mtu?: number;
}

/** An RTM_NEWLINK request changing a link's state and/or MTU. */
export function setLinkRequest(change: LinkChange, seq: number): Uint8Array {
  const msg = new Uint8Array(IFINFOMSG_LEN);
  const v = new DataView(msg.buffer);
  v.setInt32(4, change.index, true);
  if (change.up !== undefined) {
    v.setUint32(8, change.up ? IFF_UP : 0, true);
    v.setUint32(12, IFF_UP, true);
  }
  const parts: Uint8Array[] = [msg];
  if (change.mtu !== undefined) {
    if (
      !Number.isInteger(change.mtu) || change.mtu < 68 || change.mtu > 65535
    ) {
      throw new Error(`Cannot set MTU ${change.mtu}: out of range 68..65535`);
    }
    parts.push(encodeAttribute(IFLA_MTU, u32Value(change.mtu)));
  }
  return encodeMessage(
    { type: RTM_NEWLINK, flags: NLM_F_REQUEST | NLM_F_ACK, seq },
    concatBytes(parts),
  );
}

/** An address to add or delete. */
export interface AddressChange {
  /** ifindex of the link. */
  index: number;
  /** "inet" or "inet6". */
  family: AddressFamily;
  /** Address bytes (4 or 16). */
  bytes: Uint8Array;
  /** Prefix length. */
  prefix: number;
  /** IFA_PROTO to tag it with (kernels before 6.3 ignore it). */
  proto?: number;
}

/** An RTM_NEWADDR (create, fail if present) or RTM_DELADDR request. */
export function addressRequest(
  op: "add" | "delete",
  change: AddressChange,
  seq: number,
): Uint8Array {
  const len = change.family === "inet" ? 4 : 16;
  if (change.bytes.length !== len) {
    throw new Error(
      `Cannot build address request: ${change.bytes.length} address bytes for ${change.family}`,
    );
  }
  const msg = new Uint8Array(IFADDRMSG_LEN);
  const v = new DataView(msg.buffer);
  v.setUint8(0, familyNumber(change.family));
  v.setUint8(1, change.prefix);
  v.setUint32(4, change.index, true);
  const parts: Uint8Array[] = [msg];
  if (change.family === "inet") {
    parts.push(encodeAttribute(IFA_LOCAL, change.bytes));
  }
  parts.push(encodeAttribute(IFA_ADDRESS, change.bytes));
  if (op === "add" && change.family === "inet" && change.prefix < 31) {
    const brd = new Uint8Array(change.bytes);
    for (let bit = change.prefix; bit < 32; bit++) {
      brd[bit >> 3] |= 0x80 >> (bit & 7);
    }
    parts.push(encodeAttribute(IFA_BROADCAST, brd));
  }
  if (op === "add" && change.proto) {
    parts.push(encodeAttribute(IFA_PROTO, new Uint8Array([change.proto])));
  }
  return encodeMessage(
    {
      type: op === "add" ? RTM_NEWADDR : RTM_DELADDR,
      flags: NLM_F_REQUEST | NLM_F_ACK |
        (op === "add" ? NLM_F_CREATE | NLM_F_EXCL : 0),
      seq,
    },
    concatBytes(parts),
  );
}

/** A route to add or delete. */
export interface RouteChange {
  /** "inet" or "inet6". */
  family: AddressFamily;
  /** Destination network bytes. */
  dstBytes: Uint8Array;
  /** Destination prefix length (0 = default route). */
  dstPrefix: number;
  /** Gateway bytes, when the route goes via one. */
  gateway?: Uint8Array;
  /** Output ifindex. */
  oif?: number;
  /** Metric (RTA_PRIORITY). */
  priority?: number;
  /** Table id; RT_TABLE_MAIN when unset. */
  table?: number;
  /** RTPROT_* to tag an added route with, or to match on delete. */
  protocol?: number;
}

/** An RTM_NEWROUTE (create, fail if present) or RTM_DELROUTE request. */
export function routeRequest(
  op: "add" | "delete",
  change: RouteChange,
  seq: number,
): Uint8Array {
  const len = change.family === "inet" ? 4 : 16;
  if (change.dstBytes.length !== len) {
    throw new Error(
      `Cannot build route request: ${change.dstBytes.length} destination bytes for ${change.family}`,
    );
  }
  if (change.gateway && change.gateway.length !== len) {
    throw new Error(
      `Cannot build route request: ${change.gateway.length} gateway bytes for ${change.family}`,
    );
  }
  const table = change.table ?? RT_TABLE_MAIN;
  const msg = new Uint8Array(RTMSG_LEN);
  const v = new DataView(msg.buffer);
  v.setUint8(0, familyNumber(change.family));
  v.setUint8(1, change.dstPrefix);
  v.setUint8(4, table < 256 ? table : 0);
  if (op === "add") {
    v.setUint8(5, change.protocol ?? RTPROT_STATIC);
    v.setUint8(6, change.gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK);
    v.setUint8(7, RTN_UNICAST);
  } else {
    v.setUint8(5, change.protocol ?? 0);
    v.setUint8(6, RT_SCOPE_NOWHERE);
  }
  const parts: Uint8Array[] = [msg];
  if (change.dstPrefix > 0) {
    parts.push(encodeAttribute(RTA_DST, change.dstBytes));
  }
  if (change.gateway) parts.push(encodeAttribute(RTA_GATEWAY, change.gateway));
  if (change.oif) parts.push(encodeAttribute(RTA_OIF, u32Value(change.oif)));
  if (change.priority !== undefined) {
    parts.push(encodeAttribute(RTA_PRIORITY, u32Value(change.priority)));
  }
  parts.push(encodeAttribute(RTA_TABLE, u32Value(table)));
  return encodeMessage(
    {
      type: op === "add" ? RTM_NEWROUTE : RTM_DELROUTE,
      flags: NLM_F_REQUEST | NLM_F_ACK |
        (op === "add" ? NLM_F_CREATE | NLM_F_EXCL : 0),
      seq,
    },
    concatBytes(parts),
  );
}
