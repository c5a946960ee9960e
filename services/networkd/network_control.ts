/**
 * The network section changed live: machined sends it on
 * NETWORK_CONFIG_SUBJECT and networkd reconciles it (one at a time, the
 * same reconciler as at start), answering what changed. A reconcile that
 * fails answers why and leaves what it could not change as it was.
 * @module
 */
import { ApiError } from "../../lib/api_error/mod.ts";
import type { Bus } from "../../lib/bus/mod.ts";
import { NETWORK_CONFIG_SUBJECT } from "../../lib/constants/mod.ts";
import { errorText } from "../../lib/log/mod.ts";

/** What machined sends. */
export interface NetworkUpdate {
  /** The machine config's network section (undefined: none). */
  network?: unknown;
  /** The node's hostname. */
  hostname?: string;
}

/** What networkd answers. */
export interface NetworkUpdateResult {
  /** The changes made (or, without --apply, that would be made). */
  changes: string[];
  /** Whether networkd applies the network (--apply) or only compares. */
  applied: boolean;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Parses an update; InvalidArgument naming what is wrong. */
export function parseNetworkUpdate(data: Uint8Array): NetworkUpdate {
  let raw: unknown;
  try {
    raw = JSON.parse(decoder.decode(data));
  } catch (err) {
    throw new ApiError(
      "InvalidArgument",
      `network update: not JSON: ${errorText(err)}`,
    );
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new ApiError("InvalidArgument", "network update: not an object");
  }
  const r = raw as Record<string, unknown>;
  for (const k of Object.keys(r)) {
    if (k !== "network" && k !== "hostname") {
      throw new ApiError(
        "InvalidArgument",
        `network update: unknown field ${JSON.stringify(k)}`,
      );
    }
  }
  if (r.hostname !== undefined && typeof r.hostname !== "string") {
    throw new ApiError(
      "InvalidArgument",
      "network update: hostname: not a string",
    );
  }
  return { network: r.network, hostname: r.hostname as string | undefined };
}

/** Serves live network updates; `reconcile` does the work. */
export function serveNetworkUpdates(
  bus: Bus,
  reconcile: (update: NetworkUpdate) => Promise<NetworkUpdateResult>,
): void {
  let queue: Promise<unknown> = Promise.resolve();
  bus.serve(NETWORK_CONFIG_SUBJECT, (data) => {
    const update = parseNetworkUpdate(data);
    // One reconcile at a time, in the order they came.
    const run = queue.then(() => reconcile(update));
    queue = run.catch(() => {});
    return run.then((result) => encoder.encode(JSON.stringify(result)));
  });
}
