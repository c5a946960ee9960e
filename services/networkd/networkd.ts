/**
 * networkd's run loop: serve the kernel's network state on the bus, and
 * apply the network section it was handed when told to.
 * @module
 */
import {
  type DaemonContext,
  type HealthCheck,
  untilAborted,
} from "../../lib/daemon/mod.ts";
import { Libc } from "../../lib/ffi/mod.ts";
import { RouteNetlink } from "../../lib/netlink/mod.ts";
import { errorText } from "../../lib/log/mod.ts";
import { applyNetworkConfig } from "./apply_network.ts";
import type { NetworkdFlags } from "./flags.ts";
import { serveNetworkApi } from "./serve_network.ts";
import { serveNetworkUpdates } from "./network_control.ts";
import { ApiError } from "../../lib/api_error/mod.ts";

/** A networkd instance: its run function and its health check. */
export interface Networkd {
  /** Runs until `ctx.signal` aborts. */
  run(ctx: DaemonContext): Promise<void>;
  /** Healthy while netlink answers and the last apply (if any) succeeded. */
  health: HealthCheck;
}

/** Makes networkd for the given flags. */
export function createNetworkd(flags: NetworkdFlags): Networkd {
  let netlink: RouteNetlink | undefined;
  let problem = "";
  const health: HealthCheck = async () => {
    if (!netlink) return { healthy: false, message: "netlink not open yet" };
    try {
      await netlink.links();
    } catch (err) {
      return { healthy: false, message: `netlink: ${errorText(err)}` };
    }
    return { healthy: problem === "", message: problem };
  };
  const run = async ({ bus, log, signal, secrets }: DaemonContext) => {
    using libc = Libc.open();
    using nl = RouteNetlink.open(
      libc,
      flags.netns === undefined ? {} : { netnsPath: flags.netns },
    );
    netlink = nl;
    serveNetworkApi(bus, nl);
    if (flags.setHostname) {
      try {
        libc.sethostname(flags.hostname);
        log.info("hostname set", { hostname: flags.hostname });
      } catch (err) {
        problem = errorText(err);
        log.error("cannot set hostname", { error: problem });
      }
    }
    // The same reconcile at start and for every live change: re-read the
    // kernel, apply the difference, check.
    const reconcile = async (spec: unknown): Promise<string[]> => {
      try {
        const report = await applyNetworkConfig(spec, nl, {
          dryRun: !flags.apply,
          signal,
        });
        if (flags.apply) {
          problem = "";
          log.info("network config applied", { changes: report.changes });
        } else if (!report.unchanged) {
          log.info("network config not applied (process mode, no --apply)", {
            wouldChange: report.changes,
          });
        }
        return report.changes;
      } catch (err) {
        if (flags.apply) {
          problem = errorText(err);
          log.error("network config failed", { error: problem });
          throw err;
        }
        // Process mode: the host's links are not the node's to configure.
        log.warn("network config does not match this host", {
          error: errorText(err),
        });
        return [];
      }
    };
    const spec = secrets.extra.network;
    if (spec !== undefined) await reconcile(spec).catch(() => {});
    serveNetworkUpdates(bus, async (update) => {
      if (flags.setHostname && update.hostname !== undefined) {
        libc.sethostname(update.hostname);
        log.info("hostname set", { hostname: update.hostname });
      }
      let changes: string[] = [];
      try {
        changes = update.network === undefined
          ? []
          : await reconcile(update.network);
      } catch (err) {
        throw new ApiError(
          "FailedPrecondition",
          `networkd cannot apply the network config: ${errorText(err)}`,
        );
      }
      return { changes, applied: flags.apply };
    });
    log.info("serving", { address: flags.address, apply: flags.apply });
    // The start's garbage (compiler zones, netlink buffers) goes back.
    libc.mallocTrim();
    await untilAborted(signal);
    netlink = undefined;
  };
  return { run, health };
}
