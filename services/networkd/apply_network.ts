/**
 * Reconciles the kernel's links, addresses and routes with a network spec:
 * re-read everything, compute the difference, apply it, read again to check.
 * @module
 */
import {
  type AddressChange,
  type AddressStatus,
  IFF_UP,
  type LinkChange,
  type LinkStatus,
  type RouteChange,
  type RouteStatus,
  RT_TABLE_MAIN,
} from "../../lib/netlink/mod.ts";
import {
  bytesEqual,
  type Cidr,
  formatCidr,
  formatIp,
  parseIp,
} from "../../lib/netaddr/mod.ts";
import {
  type ParsedInterface,
  type ParsedRoute,
  parseNetworkSpec,
} from "./network_spec.ts";

/**
 * The IFA_PROTO / RTPROT value networkd tags its addresses and routes with,
 * so it removes only what it added (kernels before 6.3 drop the address tag:
 * there, stale addresses are left in place).
 */
export const BRONZE_NETLINK_PROTO = 77;

/** What networkd reads from the kernel. */
export interface NetlinkReader {
  /** Every link. */
  links(): Promise<LinkStatus[]>;
  /** Every IPv4/IPv6 address. */
  addresses(): Promise<AddressStatus[]>;
  /** Every IPv4/IPv6 route. */
  routes(): Promise<RouteStatus[]>;
}

/** What networkd changes in the kernel. */
export interface NetlinkWriter {
  /** Link up/down and MTU. */
  setLink(change: LinkChange): Promise<void>;
  /** Adds an address. */
  addAddress(change: AddressChange): Promise<void>;
  /** Deletes an address. */
  deleteAddress(change: AddressChange): Promise<void>;
  /** Adds a route. */
  addRoute(change: RouteChange): Promise<void>;
  /** Deletes a route. */
  deleteRoute(change: RouteChange): Promise<void>;
}

/** The kernel's network state, as read in one go. */
export interface NetworkState {
  /** Links. */
  links: LinkStatus[];
  /** Addresses. */
  addresses: AddressStatus[];
  /** Routes. */
  routes: RouteStatus[];
}

/** One change the reconciler makes. */
export type NetworkChange =
  | { op: "set-mtu"; link: string; index: number; from: number; to: number }
  | { op: "link-up"; link: string; index: number }
  | { op: "delete-route"; link: string; route: RouteChange }
  | { op: "delete-address"; link: string; address: AddressChange }
  | { op: "add-address"; link: string; address: AddressChange }
  | { op: "add-route"; link: string; route: RouteChange };

/** What one apply did. */
export interface ApplyReport {
  /** The changes made (or, with dryRun, that would be made), described. */
  changes: string[];
  /** True when nothing needed changing. */
  unchanged: boolean;
}

/** Options for {@linkcode applyNetworkConfig}. */
export interface ApplyOptions {
  /** Only compute and report the changes. */
  dryRun?: boolean;
  /** Stop between changes when aborted. */
  signal?: AbortSignal;
}

/** Reads links, addresses and routes. */
export async function readNetworkState(
  netlink: NetlinkReader,
): Promise<NetworkState> {
  const links = await netlink.links();
  const addresses = await netlink.addresses();
  const routes = await netlink.routes();
  return { links, addresses, routes };
}

/** A human line for a change: `add address 10.0.0.2/24 to "eth0"`. */
export function describeChange(c: NetworkChange): string {
  switch (c.op) {
    case "set-mtu":
      return `set mtu of "${c.link}" ${c.from} -> ${c.to}`;
    case "link-up":
      return `bring "${c.link}" up`;
    case "add-address":
      return `add address ${formatCidr(c.address)} to "${c.link}"`;
    case "delete-address":
      return `delete address ${formatCidr(c.address)} from "${c.link}"`;
    case "add-route":
      return `add route ${routeText(c.route)} dev "${c.link}"`;
    case "delete-route":
      return `delete route ${routeText(c.route)} dev "${c.link}"`;
  }
}

function routeText(r: RouteChange): string {
  const via = r.gateway ? ` via ${formatIp(r.gateway)}` : "";
  const table = r.table && r.table !== RT_TABLE_MAIN ? ` table ${r.table}` : "";
  return `${formatIp(r.dstBytes)}/${r.dstPrefix}${via} metric ${
    r.priority ?? 0
  }${table}`;
}

function desiredRoute(index: number, r: ParsedRoute): RouteChange {
  return {
    family: r.network.family,
    dstBytes: r.network.bytes,
    dstPrefix: r.network.prefix,
    gateway: r.gateway?.bytes,
    oif: index,
    priority: r.metric,
    table: RT_TABLE_MAIN,
    protocol: BRONZE_NETLINK_PROTO,
  };
}

function sameRoute(have: RouteStatus, want: RouteChange): boolean {
  const gw = want.gateway ? formatIp(want.gateway) : "";
  return have.family === want.family &&
    have.table === (want.table ?? RT_TABLE_MAIN) &&
    have.dstPrefix === want.dstPrefix &&
    bytesEqual(have.dstBytes, want.dstBytes) &&
    have.gateway === gw &&
    have.oif === want.oif &&
    have.priority === (want.priority ?? 0);
}

function routeOf(have: RouteStatus): RouteChange {
  return {
    family: have.family,
    dstBytes: have.dstBytes,
    dstPrefix: have.dstPrefix,
    gateway: have.gateway ? parseIp(have.gateway).bytes : undefined,
    oif: have.oif || undefined,
    priority: have.priority,
    table: have.table,
    protocol: have.protocol,
  };
}

function sameAddress(have: AddressStatus, index: number, want: Cidr): boolean {
  return have.index === index && have.family === want.family &&
    have.prefix === want.prefix && bytesEqual(have.bytes, want.bytes);
}

/**
 * Computes the changes that take `state` to `desired`: MTU and link state
 * first, then removal of what networkd added before and is no longer
 * wanted, then the missing addresses and routes. Throws, changing nothing,
 * when a configured link does not exist.
 */
export function planNetworkChanges(
  desired: ParsedInterface[],
  state: NetworkState,
): NetworkChange[] {
  const byName = new Map(state.links.map((l) => [l.name, l]));
  const byIndex = new Map(state.links.map((l) => [l.index, l.name]));
  const missing = desired.filter((d) => !byName.has(d.name)).map((d) => d.name);
  if (missing.length > 0) {
    throw new Error(
      `Cannot apply network config: no link named ${
        missing.map((m) => JSON.stringify(m)).join(", ")
      } (links: ${state.links.map((l) => l.name).join(", ")})`,
    );
  }
  const linkChanges: NetworkChange[] = [];
  const removals: NetworkChange[] = [];
  const additions: NetworkChange[] = [];
  const wantedRoutes: RouteChange[] = [];
  const wantedAddresses: Array<{ index: number; cidr: Cidr }> = [];
  for (const d of desired) {
    const link = byName.get(d.name)!;
    if (d.mtu !== undefined && d.mtu !== link.mtu) {
      linkChanges.push({
        op: "set-mtu",
        link: d.name,
        index: link.index,
        from: link.mtu,
        to: d.mtu,
      });
    }
    if (!(link.rawFlags & IFF_UP)) {
      linkChanges.push({ op: "link-up", link: d.name, index: link.index });
    }
    for (const cidr of d.addresses) {
      wantedAddresses.push({ index: link.index, cidr });
      if (!state.addresses.some((a) => sameAddress(a, link.index, cidr))) {
        additions.push({
          op: "add-address",
          link: d.name,
          address: {
            index: link.index,
            family: cidr.family,
            bytes: cidr.bytes,
            prefix: cidr.prefix,
            proto: BRONZE_NETLINK_PROTO,
          },
        });
      }
    }
  }
  // Routes after addresses: a gateway must be on a connected network.
  for (const d of desired) {
    const link = byName.get(d.name)!;
    for (const r of d.routes) {
      const want = desiredRoute(link.index, r);
      wantedRoutes.push(want);
      if (!state.routes.some((have) => sameRoute(have, want))) {
        additions.push({ op: "add-route", link: d.name, route: want });
      }
    }
  }
  for (const have of state.routes) {
    if (have.protocol !== BRONZE_NETLINK_PROTO) continue;
    if (wantedRoutes.some((w) => sameRoute(have, w))) continue;
    removals.push({
      op: "delete-route",
      link: byIndex.get(have.oif) ?? String(have.oif),
      route: routeOf(have),
    });
  }
  for (const have of state.addresses) {
    if (have.proto !== BRONZE_NETLINK_PROTO) continue;
    if (wantedAddresses.some((w) => sameAddress(have, w.index, w.cidr))) {
      continue;
    }
    removals.push({
      op: "delete-address",
      link: byIndex.get(have.index) ?? String(have.index),
      address: {
        index: have.index,
        family: have.family,
        bytes: have.bytes,
        prefix: have.prefix,
      },
    });
  }
  // Routes go before addresses on removal: a route may depend on an address.
  removals.sort((a, b) =>
    (a.op === "delete-route" ? 0 : 1) - (b.op === "delete-route" ? 0 : 1)
  );
  return [...linkChanges, ...removals, ...additions];
}

async function applyChange(
  netlink: NetlinkWriter,
  c: NetworkChange,
): Promise<void> {
  switch (c.op) {
    case "set-mtu":
      return await netlink.setLink({ index: c.index, mtu: c.to });
    case "link-up":
      return await netlink.setLink({ index: c.index, up: true });
    case "add-address":
      return await netlink.addAddress(c.address);
    case "delete-address":
      return await netlink.deleteAddress(c.address);
    case "add-route":
      return await netlink.addRoute(c.route);
    case "delete-route":
      return await netlink.deleteRoute(c.route);
  }
}

/**
 * Applies the network section of a machine config idempotently: validates
 * it (a bad spec changes nothing), reads the kernel's state, applies the
 * difference, then reads again and fails if the result still differs.
 * A second apply of the same spec changes nothing.
 */
export async function applyNetworkConfig(
  spec: unknown,
  netlink: NetlinkReader & NetlinkWriter,
  options: ApplyOptions = {},
): Promise<ApplyReport> {
  const { parsed } = parseNetworkSpec(spec);
  const plan = planNetworkChanges(parsed, await readNetworkState(netlink));
  const changes = plan.map(describeChange);
  if (options.dryRun || plan.length === 0) {
    return { changes, unchanged: plan.length === 0 };
  }
  for (const [i, c] of plan.entries()) {
    if (options.signal?.aborted) {
      throw new Error(
        `Cannot apply network config: stopped after ${i} of ${plan.length} changes`,
      );
    }
    try {
      await applyChange(netlink, c);
    } catch (cause) {
      throw new Error(
        `Cannot apply network config: change ${i + 1} of ${plan.length} (${
          changes[i]
        }) failed${i > 0 ? ` after ${changes.slice(0, i).join("; ")}` : ""}`,
        { cause },
      );
    }
  }
  const left = planNetworkChanges(parsed, await readNetworkState(netlink));
  if (left.length > 0) {
    throw new Error(
      `Cannot apply network config: still differs after applying: ${
        left.map(describeChange).join("; ")
      }`,
    );
  }
  return { changes, unchanged: false };
}
