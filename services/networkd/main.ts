/**
 * networkd: reports the node's links, addresses and routes from the kernel
 * (netlink) on the bus, and applies the machine config's network section.
 *
 *     networkd --address IP --hostname NAME [--apply] [--set-hostname]
 *              [--netns /run/netns/NAME]
 *
 * stdin: the daemon secrets JSON `{bus: {url, user, pass}, network?: {...}}`;
 * `network` is the machine config's network section (interfaces[] with name,
 * addresses, routes[] {network, gateway, metric}, mtu). Without `--apply` it
 * is only compared with the kernel and the would-be changes logged (process
 * mode); with `--apply` (network-namespace or image mode) it is reconciled.
 * `--set-hostname` calls sethostname(2) with `--hostname` (image mode only).
 * `--netns PATH` reads and reconciles that network namespace (its netlink
 * socket is opened there) while the bus stays in networkd's own. Live
 * changes arrive from machined on networkd.config.network
 * (network_control.ts) and go through the same reconciler.
 *
 * Deno permissions, exactly (tests/networkd_daemon_test.ts runs it so):
 *   --allow-ffi                    dlopen("libc.so.6"): netlink sockets, poll,
 *                                  sethostname (a path-scoped --allow-ffi does
 *                                  not match a bare library name)
 *   --allow-net=<bus host>:<port>  the node-local NATS server
 *   --allow-env=GRPC_NODE_VERBOSITY,GRPC_VERBOSITY,GRPC_NODE_TRACE,GRPC_TRACE,
 *     GRPC_SSL_CIPHER_SUITES,GRPC_DEFAULT_SSL_ROOTS_FILE_PATH,
 *     GRPC_NODE_USE_ALTERNATIVE_RESOLVER,
 *     GRPC_EXPERIMENTAL_ENABLE_OUTLIER_DETECTION
 *                                  read by @grpc/grpc-js at import (the
 *                                  generated API code loads it); add
 *                                  BRONZE_LOG_LEVEL to choose the log level
 *   --no-prompt
 * Nothing else (no read, write, run or sys). Applying needs CAP_NET_ADMIN
 * (root); reading works unprivileged.
 */
import { runDaemon } from "../../lib/daemon/mod.ts";
import { NETWORKD_USAGE, parseNetworkdFlags } from "./flags.ts";
import { createNetworkd } from "./networkd.ts";

let flags;
try {
  flags = parseNetworkdFlags(Deno.args);
} catch (err) {
  console.error(`networkd: ${(err as Error).message}\n${NETWORKD_USAGE}`);
  Deno.exit(2);
}
const networkd = createNetworkd(flags);
await runDaemon("networkd", networkd.run, { health: networkd.health });
