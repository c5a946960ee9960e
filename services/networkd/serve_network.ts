/**
 * networkd's bus API: Links, Addresses and Routes, read live from the
 * kernel on every call (one message each, metadata left to apid).
 * @module
 */
import type { Bus } from "../../lib/bus/mod.ts";
import { ApiError } from "../../lib/api_error/mod.ts";
import { serveMethods } from "../../lib/api/serve.ts";
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
  serveMethods(bus, "networkd", {
    Links: async () => ({
      messages: [{
        metadata: undefined,
        links: await kernel("links", () => linkMessages(netlink)),
      }],
    }),
    Addresses: async () => ({
      messages: [{
        metadata: undefined,
        addresses: await kernel("addresses", () => addressMessages(netlink)),
      }],
    }),
    Routes: async () => ({
      messages: [{
        metadata: undefined,
        routes: await kernel("routes", () => routeMessages(netlink)),
      }],
    }),
  });
}
