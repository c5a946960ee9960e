/**
 * udevd-lite: the node's device manager. Reports block devices from sysfs
 * (Disks), publishes kernel uevents on the bus as machine.DeviceEvent on
 * `udevd.events.<action>`, and works out at coldplug which kernel modules
 * the present devices need (modalias against modules.alias); with
 * `--load-modules` (image mode) it loads them, and those new devices ask for.
 *
 *     udevd --address IP --hostname NAME [--sys /sys] [--modules-dir DIR]
 *           [--load-modules]
 *
 * stdin: the daemon secrets JSON `{bus: {url, user, pass}}`.
 *
 * Deno permissions, exactly (tests/udevd_daemon_test.ts runs it so):
 *   --allow-ffi                       dlopen("libc.so.6"): sysfs reads (Deno's
 *                                     own file APIs refuse /sys unless given
 *                                     --allow-all, so --allow-read=/sys does
 *                                     not help), the uevent netlink socket,
 *                                     poll, open + finit_module
 *   --allow-read=<modules-dir>        modules.alias/.dep/.builtin (default
 *                                     /lib/modules/<release>; /lib/modules
 *                                     covers it)
 *   --allow-sys=osRelease             only without --modules-dir (to find
 *                                     /lib/modules/<release>)
 *   --allow-net=<bus host>:<port>     the node-local NATS server
 *   --allow-env=GRPC_NODE_VERBOSITY,GRPC_VERBOSITY,GRPC_NODE_TRACE,GRPC_TRACE,
 *     GRPC_SSL_CIPHER_SUITES,GRPC_DEFAULT_SSL_ROOTS_FILE_PATH,
 *     GRPC_NODE_USE_ALTERNATIVE_RESOLVER,
 *     GRPC_EXPERIMENTAL_ENABLE_OUTLIER_DETECTION
 *                                     read by @grpc/grpc-js at import (the
 *                                     generated API code loads it); add
 *                                     BRONZE_LOG_LEVEL to choose the log level
 *   --no-prompt
 * Nothing else (no write, run). Receiving uevents works unprivileged;
 * loading modules needs root (CAP_SYS_MODULE).
 * The bus user "udevd" publishes on `udevd.events.>`.
 */
import { runDaemon } from "../../lib/daemon/mod.ts";
import { parseUdevdFlags, UDEVD_USAGE } from "./flags.ts";
import { createUdevd } from "./udevd.ts";

let flags;
try {
  flags = parseUdevdFlags(Deno.args);
} catch (err) {
  console.error(`udevd: ${(err as Error).message}\n${UDEVD_USAGE}`);
  Deno.exit(2);
}
const udevd = createUdevd(flags);
await runDaemon("udevd", udevd.run, { health: udevd.health });
