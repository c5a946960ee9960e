/**
 * The least Deno permissions of each daemon machined starts, in one table.
 *
 * Every daemon may reach only the node's NATS address and port. apid and
 * trustd may also listen on their own ports (on the node address, and on the
 * wildcard address for image mode), and a control-plane apid may dial other
 * nodes' apid port (any IPv4 host, port 50000 only). apid and trustd read only
 * their own certificate folder; networkd and udevd read the kernel's views
 * they report. Note: Deno 2.9 refuses reads under /proc, /sys and /dev
 * without --allow-all, even with --allow-read=/sys; what must read there
 * does it through libc over FFI (or netlink). Only networkd and udevd get FFI (netlink, module loading);
 * nobody but machined gets --allow-run. Environment access is limited to the
 * variables the libraries read at import (see PLATFORM.md): grpc-js (loaded by
 * every daemon through the generated API code), @bufbuild/protobuf, yaml and
 * lib/log. Children start with an empty environment apart from CHILD_ENV_KEYS.
 * @module
 */
import { APID_PORT, TRUSTD_PORT } from "../constants/mod.ts";

/** The daemons machined starts as Deno processes. */
export type SupervisedDaemon = "udevd" | "networkd" | "trustd" | "apid";

/** Where each daemon's code lives under services/. */
export const DAEMON_DIRS: Readonly<Record<SupervisedDaemon, string>> = {
  udevd: "udevd-lite",
  networkd: "networkd",
  trustd: "trustd",
  apid: "apid",
};

/** What the permissions of a daemon depend on. */
export interface PermissionContext {
  /** The node's address (NATS and the API ports bind here). */
  address: string;
  /** The node-local NATS port. */
  natsPort: number;
  /**
   * The host nats-server listens on (default: `address`). Image mode puts the
   * bus on the node's loopback, 127.0.0.1, which exists before networkd has
   * configured the node address.
   */
  busHost?: string;
  /** The node's state folder. */
  stateDir: string;
  /** Whether the node is a control plane. */
  controlPlane: boolean;
}

/** Environment variables libraries read at import (read is allowed). */
export const LIBRARY_ENV: readonly string[] = [
  // @grpc/grpc-js
  "GRPC_NODE_VERBOSITY",
  "GRPC_VERBOSITY",
  "GRPC_NODE_TRACE",
  "GRPC_TRACE",
  "GRPC_NODE_USE_ALTERNATIVE_RESOLVER",
  "GRPC_EXPERIMENTAL_ENABLE_OUTLIER_DETECTION",
  "GRPC_SSL_CIPHER_SUITES",
  "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH",
  "grpc_proxy",
  "https_proxy",
  "http_proxy",
  "no_grpc_proxy",
  "no_proxy",
  // @bufbuild/protobuf
  "BUF_BIGINT_DISABLE",
  // yaml
  "LOG_TOKENS",
  "LOG_STREAM",
  // lib/log
  "BRONZE_LOG_LEVEL",
];

/**
 * Variables a child inherits from machined (Deno's own cache location and the
 * log level). Proxies are deliberately not passed: node traffic is direct.
 */
export const CHILD_ENV_KEYS: readonly string[] = [
  "PATH",
  "HOME",
  "DENO_DIR",
  "XDG_CACHE_HOME",
  "NO_COLOR",
  "BRONZE_LOG_LEVEL",
];

/** One daemon's row of the table. */
export interface DaemonPermissions {
  /** host:port (or CIDR:port) the daemon may connect to or listen on. */
  net(ctx: PermissionContext): string[];
  /** Paths it may read. */
  read(ctx: PermissionContext): string[];
  /** Paths it may write. */
  write(ctx: PermissionContext): string[];
  /** Whether it may load native libraries (netlink, module loading). */
  ffi: boolean;
  /** Deno.* system information it may query (e.g. "hostname"). */
  sys: string[];
}

/** The folder holding a daemon's certificates. */
export function certsDir(stateDir: string, daemon: "apid" | "trustd"): string {
  return `${stateDir}/certs/${daemon}`;
}

const nats = (ctx: PermissionContext): string =>
  `${hostPort(ctx.busHost ?? ctx.address, ctx.natsPort)}`;

/** The table: every permission each daemon gets, and nothing else. */
export const DAEMON_PERMISSIONS: Readonly<
  Record<SupervisedDaemon, DaemonPermissions>
> = {
  // As services/udevd-lite/main.ts lists: sysfs, the modules folder, the
  // kernel release (to find /lib/modules/<release>), FFI for the uevent
  // socket and finit_module.
  udevd: {
    net: (ctx) => [nats(ctx)],
    read: () => ["/sys", "/lib/modules"],
    write: () => [],
    ffi: true,
    sys: ["osRelease"],
  },
  // As services/networkd/main.ts lists: netlink through FFI, nothing read.
  networkd: {
    net: (ctx) => [nats(ctx)],
    read: () => [],
    write: () => [],
    ffi: true,
    sys: [],
  },
  trustd: {
    net: (ctx) => [
      nats(ctx),
      hostPort(ctx.address, TRUSTD_PORT),
      hostPort("0.0.0.0", TRUSTD_PORT),
    ],
    read: (ctx) => [certsDir(ctx.stateDir, "trustd")],
    write: () => [],
    ffi: false,
    sys: [],
  },
  apid: {
    net: (ctx) => [
      nats(ctx),
      hostPort(ctx.address, APID_PORT),
      hostPort("0.0.0.0", APID_PORT),
      // Control planes forward calls to other nodes' apid, and only there.
      ...(ctx.controlPlane ? [`0.0.0.0/0:${APID_PORT}`] : []),
    ],
    read: (ctx) => [certsDir(ctx.stateDir, "apid")],
    write: () => [],
    ffi: false,
    sys: [],
  },
};

/** The Deno permission flags of one daemon on this node. */
export function denoPermissionFlags(
  daemon: SupervisedDaemon,
  ctx: PermissionContext,
): string[] {
  const row = DAEMON_PERMISSIONS[daemon];
  for (const path of [...row.read(ctx), ...row.write(ctx)]) {
    // Deno splits permission lists at commas.
    if (path.includes(",")) {
      throw new Error(
        `Cannot grant ${daemon} access to ${
          JSON.stringify(path)
        }: comma in path`,
      );
    }
  }
  const flags = [`--allow-net=${row.net(ctx).join(",")}`];
  const read = row.read(ctx);
  if (read.length) flags.push(`--allow-read=${read.join(",")}`);
  const write = row.write(ctx);
  if (write.length) flags.push(`--allow-write=${write.join(",")}`);
  flags.push(`--allow-env=${LIBRARY_ENV.join(",")}`);
  if (row.ffi) flags.push("--allow-ffi");
  if (row.sys.length) flags.push(`--allow-sys=${row.sys.join(",")}`);
  return flags;
}

function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
