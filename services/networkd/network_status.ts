/**
 * The kernel's links, addresses and routes as the machine API reports them.
 * @module
 */
import type {
  Address,
  Link,
  Route,
} from "../../lib/api/gen/machine/machine.ts";
import type { NetlinkReader } from "./apply_network.ts";

/** Links as machine.Link messages, by index. */
export async function linkMessages(netlink: NetlinkReader): Promise<Link[]> {
  const links = await netlink.links();
  return links.sort((a, b) => a.index - b.index).map((l) => ({
    name: l.name,
    index: l.index,
    hardwareAddr: l.hardwareAddr,
    mtu: l.mtu,
    operState: l.operState,
    flags: l.flags,
    kind: l.kind,
  }));
}

async function linkNames(netlink: NetlinkReader): Promise<Map<number, string>> {
  return new Map((await netlink.links()).map((l) => [l.index, l.name]));
}

/** Addresses as machine.Address messages, by link then family. */
export async function addressMessages(
  netlink: NetlinkReader,
): Promise<Address[]> {
  const names = await linkNames(netlink);
  const addrs = await netlink.addresses();
  return addrs
    .sort((a, b) => a.index - b.index || a.family.localeCompare(b.family))
    .map((a) => ({
      link: names.get(a.index) ?? String(a.index),
      address: a.address,
      family: a.family,
      scope: a.scope,
    }));
}

/** Routes as machine.Route messages (every table), by table then family. */
export async function routeMessages(netlink: NetlinkReader): Promise<Route[]> {
  const names = await linkNames(netlink);
  const routes = await netlink.routes();
  return routes
    .sort((a, b) => a.table - b.table || a.family.localeCompare(b.family))
    .map((r) => ({
      destination: r.destination,
      gateway: r.gateway,
      link: r.oif ? names.get(r.oif) ?? String(r.oif) : "",
      metric: r.priority,
      family: r.family,
      table: r.table,
    }));
}
