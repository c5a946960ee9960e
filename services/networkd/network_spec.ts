/**
 * The network section of a machine config, as networkd applies it, and its
 * validation. Every error names the field and quotes the value.
 * @module
 */
import {
  bytesEqual,
  type Cidr,
  formatCidr,
  type IpAddress,
  networkOf,
  parseCidr,
  parseIp,
} from "../../lib/netaddr/mod.ts";

/** A static route on an interface. */
export interface RouteSpec {
  /** Destination network in CIDR form ("0.0.0.0/0" for a default route). */
  network: string;
  /** Next hop; without one the route is on-link. */
  gateway?: string;
  /** Route metric; {@linkcode DEFAULT_ROUTE_METRIC} when unset. */
  metric?: number;
}

/** One interface's desired configuration. */
export interface InterfaceSpec {
  /** Link name, e.g. "eth0". */
  name: string;
  /** Addresses in CIDR form. */
  addresses: string[];
  /** Static routes through this interface. */
  routes: RouteSpec[];
  /** MTU; left alone when unset. */
  mtu?: number;
}

/**
 * The network section of a machine config (lib/config's NetworkConfig has
 * the same shape). networkd applies `interfaces`; `hostname` is applied only
 * with `--set-hostname` (from the flag) and `nameservers` are checked but not
 * yet applied.
 */
export interface NetworkSpec {
  /** Interfaces to configure; links not listed are left alone. */
  interfaces: InterfaceSpec[];
  /** The node's hostname. */
  hostname?: string;
  /** DNS resolvers. */
  nameservers?: string[];
}

/** A route metric when the config gives none (as Talos does). */
export const DEFAULT_ROUTE_METRIC = 1024;

/** An interface spec with every value parsed. */
export interface ParsedInterface {
  /** Link name. */
  name: string;
  /** Parsed addresses. */
  addresses: Cidr[];
  /** Parsed routes (network masked, metric defaulted). */
  routes: ParsedRoute[];
  /** MTU, when set. */
  mtu?: number;
}

/** A route spec with every value parsed. */
export interface ParsedRoute {
  /** Destination network (host bits zero). */
  network: Cidr;
  /** Next hop, when any. */
  gateway?: IpAddress;
  /** Metric. */
  metric: number;
}

const IFNAME = /^[A-Za-z0-9_.:@-]{1,15}$/;
const IFACE_KEYS = new Set(["name", "addresses", "routes", "mtu", "dhcp"]);
const NETWORK_KEYS = new Set(["interfaces", "hostname", "nameservers"]);
const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const ROUTE_KEYS = new Set(["network", "gateway", "metric"]);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function fail(where: string, message: string, cause?: unknown): never {
  throw new Error(`Invalid network config at ${where}: ${message}`, {
    cause,
  });
}

function checkKeys(
  obj: Record<string, unknown>,
  allowed: Set<string>,
  where: string,
): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.has(k)) {
      fail(
        where,
        `unknown field ${JSON.stringify(k)} (allowed: ${
          [...allowed].join(", ")
        })`,
      );
    }
  }
}

/**
 * Validates an untrusted network section and parses every value. Throws on
 * the first problem, naming the field (`network.interfaces[0].mtu`).
 */
export function parseNetworkSpec(
  raw: unknown,
  where = "network",
): { spec: NetworkSpec; parsed: ParsedInterface[] } {
  if (!isRecord(raw)) fail(where, "not an object");
  checkKeys(raw, NETWORK_KEYS, where);
  const list = raw.interfaces ?? [];
  if (!Array.isArray(list)) fail(`${where}.interfaces`, "not a list");
  if (list.length > 256) fail(`${where}.interfaces`, "more than 256 entries");
  const spec: NetworkSpec = { interfaces: [] };
  if (raw.hostname !== undefined) {
    if (typeof raw.hostname !== "string" || !HOSTNAME.test(raw.hostname)) {
      fail(
        `${where}.hostname`,
        `${JSON.stringify(raw.hostname)} is not a hostname (RFC 1123 labels)`,
      );
    }
    spec.hostname = raw.hostname;
  }
  if (raw.nameservers !== undefined) {
    const ns = raw.nameservers;
    if (!Array.isArray(ns)) fail(`${where}.nameservers`, "not a list");
    if (ns.length > 16) fail(`${where}.nameservers`, "more than 16 entries");
    spec.nameservers = ns.map((n: unknown, i: number) => {
      const at = `${where}.nameservers[${i}]`;
      if (typeof n !== "string") {
        fail(at, `${JSON.stringify(n)} is not a string`);
      }
      try {
        parseIp(n);
      } catch (cause) {
        fail(at, (cause as Error).message, cause);
      }
      return n;
    });
  }
  const parsed: ParsedInterface[] = [];
  const seen = new Set<string>();
  list.forEach((item: unknown, i: number) => {
    const at = `${where}.interfaces[${i}]`;
    const { iface, p } = parseInterface(item, at);
    if (seen.has(iface.name)) {
      fail(
        `${at}.name`,
        `interface ${JSON.stringify(iface.name)} is listed twice`,
      );
    }
    seen.add(iface.name);
    spec.interfaces.push(iface);
    parsed.push(p);
  });
  return { spec, parsed };
}

function parseInterface(
  item: unknown,
  at: string,
): { iface: InterfaceSpec; p: ParsedInterface } {
  if (!isRecord(item)) fail(at, "not an object");
  checkKeys(item, IFACE_KEYS, at);
  const name = item.name;
  if (typeof name !== "string" || !IFNAME.test(name)) {
    fail(
      `${at}.name`,
      `${
        JSON.stringify(name)
      } is not an interface name (1-15 of A-Z a-z 0-9 _ . : @ -)`,
    );
  }
  if (item.dhcp !== undefined) {
    if (typeof item.dhcp !== "boolean") {
      fail(`${at}.dhcp`, `${JSON.stringify(item.dhcp)} is not a boolean`);
    }
    if (item.dhcp) {
      fail(
        `${at}.dhcp`,
        "DHCP is not supported by networkd yet: configure static addresses",
      );
    }
  }
  const iface: InterfaceSpec = { name, addresses: [], routes: [] };
  const p: ParsedInterface = { name, addresses: [], routes: [] };
  if (item.mtu !== undefined) {
    const mtu = item.mtu;
    if (
      typeof mtu !== "number" || !Number.isInteger(mtu) || mtu < 68 ||
      mtu > 65535
    ) {
      fail(`${at}.mtu`, `${JSON.stringify(mtu)} is not an MTU in 68..65535`);
    }
    iface.mtu = p.mtu = mtu;
  }
  const addrs = item.addresses ?? [];
  if (!Array.isArray(addrs)) fail(`${at}.addresses`, "not a list");
  if (addrs.length > 1024) fail(`${at}.addresses`, "more than 1024 entries");
  addrs.forEach((a: unknown, j: number) => {
    const aat = `${at}.addresses[${j}]`;
    if (typeof a !== "string") {
      fail(aat, `${JSON.stringify(a)} is not a string`);
    }
    let cidr: Cidr;
    try {
      cidr = parseCidr(a);
    } catch (cause) {
      fail(aat, (cause as Error).message, cause);
    }
    if (
      p.addresses.some((x) =>
        bytesEqual(x.bytes, cidr.bytes) && x.prefix === cidr.prefix
      )
    ) {
      fail(aat, `address ${JSON.stringify(a)} is listed twice`);
    }
    iface.addresses.push(a);
    p.addresses.push(cidr);
  });
  const routes = item.routes ?? [];
  if (!Array.isArray(routes)) fail(`${at}.routes`, "not a list");
  if (routes.length > 1024) fail(`${at}.routes`, "more than 1024 entries");
  routes.forEach((r: unknown, j: number) => {
    const { route, pr } = parseRoute(r, `${at}.routes[${j}]`);
    iface.routes.push(route);
    p.routes.push(pr);
  });
  return { iface, p };
}

function parseRoute(
  r: unknown,
  at: string,
): { route: RouteSpec; pr: ParsedRoute } {
  if (!isRecord(r)) fail(at, "not an object");
  checkKeys(r, ROUTE_KEYS, at);
  if (typeof r.network !== "string") {
    fail(`${at}.network`, `${JSON.stringify(r.network)} is not a CIDR string`);
  }
  let network: Cidr;
  try {
    network = parseCidr(r.network);
  } catch (cause) {
    fail(`${at}.network`, (cause as Error).message, cause);
  }
  if (!bytesEqual(networkOf(network).bytes, network.bytes)) {
    fail(
      `${at}.network`,
      `${JSON.stringify(r.network)} has host bits set (the network is ${
        formatCidr(networkOf(network))
      })`,
    );
  }
  const route: RouteSpec = { network: r.network };
  const pr: ParsedRoute = { network, metric: DEFAULT_ROUTE_METRIC };
  if (r.gateway !== undefined) {
    if (typeof r.gateway !== "string") {
      fail(`${at}.gateway`, `${JSON.stringify(r.gateway)} is not a string`);
    }
    let gw: IpAddress;
    try {
      gw = parseIp(r.gateway);
    } catch (cause) {
      fail(`${at}.gateway`, (cause as Error).message, cause);
    }
    if (gw.family !== network.family) {
      fail(
        `${at}.gateway`,
        `${JSON.stringify(r.gateway)} is not in the family of ${
          JSON.stringify(r.network)
        }`,
      );
    }
    route.gateway = r.gateway;
    pr.gateway = gw;
  }
  if (r.metric !== undefined) {
    const m = r.metric;
    if (
      typeof m !== "number" || !Number.isInteger(m) || m < 0 || m > 0xffffffff
    ) {
      fail(`${at}.metric`, `${JSON.stringify(m)} is not a metric in 0..2^32-1`);
    }
    route.metric = pr.metric = m;
  }
  return { route, pr };
}
