/**
 * networkd's bus API: Links, Addresses and Routes, read live from the
 * kernel on every call (one message each, metadata left to apid).
 * @module
 */
import { ApiError, type Bus, serveTyped } from "../../lib/bus/mod.ts";
import { rpcSubject } from "../../lib/constants/mod.ts";
import { Empty } from "../../lib/api/gen/common/common.ts";
import {
  AddressesResponse,
  LinksResponse,
  RoutesResponse,
} from "../../lib/api/gen/machine/machine.ts";
import { errorText } from "../../lib/log/mod.ts";
import type { NetlinkReader } from "./apply_network.ts";
import {
  addressMessages,
  linkMessages,
  routeMessages,
} from "./network_status.ts";

async function kernel<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw new ApiError(
      "Unavailable",
      `Cannot read ${what} from the kernel: ${errorText(err)}`,
    );
  }
}

/** Serves Links, Addresses and Routes on networkd's bus subjects. */
export function serveNetworkApi(bus: Bus, netlink: NetlinkReader): void {
  serveTyped(
    bus,
    rpcSubject("networkd", "Links"),
    { req: Empty, res: LinksResponse },
    async () => ({
      messages: [{
        metadata: undefined,
        links: await kernel("links", () => linkMessages(netlink)),
      }],
    }),
  );
  serveTyped(
    bus,
    rpcSubject("networkd", "Addresses"),
    { req: Empty, res: AddressesResponse },
    async () => ({
      messages: [{
        metadata: undefined,
        addresses: await kernel("addresses", () => addressMessages(netlink)),
      }],
    }),
  );
  serveTyped(
    bus,
    rpcSubject("networkd", "Routes"),
    { req: Empty, res: RoutesResponse },
    async () => ({
      messages: [{
        metadata: undefined,
        routes: await kernel("routes", () => routeMessages(netlink)),
      }],
    }),
  );
}
