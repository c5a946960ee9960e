/**
 * apid wired together: the mTLS gRPC server on <address>:50000 serving every
 * MachineService method as raw bytes through the proxy, the local bus
 * backend, the forwarding channel pool (control planes only), and the
 * certificate watcher that rotates both without dropping calls.
 * @module
 */
import { API_MAX_MESSAGE_BYTES, APID_PORT } from "../../lib/constants/mod.ts";
import {
  ChannelPool,
  clientTls,
  ProxyServer,
  type ProxyServerLimits,
  rawService,
  RotatingServerCredentials,
} from "../../lib/grpc/mod.ts";
import { errorText, type Logger } from "../../lib/log/mod.ts";
import {
  type TlsMaterial,
  waitForCertDir,
  watchCertDir,
} from "../../lib/certdir/mod.ts";
import { type BusLike, LocalBackend, RemoteBackend } from "./backends.ts";
import { ApidProxy } from "./proxy.ts";
import { CallerLimits, type CallerLimitTable } from "./caller_limits.ts";
import { servedMethods } from "./roles.ts";
import { untilAborted } from "../../lib/daemon/mod.ts";

/** How apid runs. */
export interface ApidOptions extends ProxyServerLimits {
  /** The node's address: apid listens there, and it names this node. */
  address: string;
  /** The node's hostname (a target naming it is served locally). */
  hostname: string;
  /** Folder with ca.crt, server.crt, server.key [, client.crt, client.key]. */
  certsDir: string;
  /** Control planes forward calls to other nodes. */
  controlPlane: boolean;
  /** Port to listen on and to dial other nodes on (default 50000). */
  port?: number;
  /** Deadline of each fan-out leg in ms (default 5000). */
  legTimeoutMs?: number;
  /** Forwarded calls one caller may hold open to one node, by role. */
  callerLimits?: CallerLimitTable;
  /** How often the certificate files are checked for changes (default 1 s). */
  certCheckMs?: number;
}

/** What apid gets from its daemon frame. */
export interface ApidContext {
  /** The node-local bus. */
  bus: BusLike;
  /** apid's logger. */
  log: Logger;
  /** Stops apid. */
  signal: AbortSignal;
  /** Called once the server listens, with its port. */
  onListening?: (port: number) => void;
}

/** Runs apid until `ctx.signal` aborts; then drains calls and returns. */
export async function runApid(
  options: ApidOptions,
  ctx: ApidContext,
): Promise<void> {
  const { log } = ctx;
  // A control plane forwards with its client pair: wait for that too.
  const first = await waitForCertDir(options.certsDir, {
    signal: ctx.signal,
    accept: (m) => !options.controlPlane || m.client !== undefined,
  });
  let client: TlsMaterial | undefined = first.client;
  const serverCreds = new RotatingServerCredentials(first.server, true);
  const port = options.port ?? APID_PORT;
  const maxMessageBytes = options.maxMessageBytes ?? API_MAX_MESSAGE_BYTES;
  const pool = new ChannelPool({
    port,
    tls: () => {
      if (!client) {
        throw new Error("Cannot forward: apid has no client certificate");
      }
      return clientTls(client);
    },
    maxMessageBytes,
  });
  const limits = new CallerLimits(options.callerLimits);
  const self = new Set([options.address, options.hostname.toLowerCase()]);
  const proxy = new ApidProxy({
    local: new LocalBackend(ctx.bus),
    remote: (target) =>
      new RemoteBackend(target, pool, options.address, limits),
    canForward: options.controlPlane,
    isSelf: (target) => self.has(target.toLowerCase()),
    legTimeoutMs: options.legTimeoutMs,
    log,
    hostname: options.hostname,
  });
  const server = await ProxyServer.start(
    rawService(servedMethods(), proxy),
    {
      ...options,
      maxMessageBytes,
      address: options.address.includes(":")
        ? `[${options.address}]:${port}`
        : `${options.address}:${port}`,
      credentials: serverCreds,
      onTlsError: (message) => log.debug("tls connection refused", { message }),
    },
  );
  log.info("listening", {
    address: options.address,
    port: server.port,
    controlPlane: options.controlPlane,
  });
  ctx.onListening?.(server.port);

  // Rotation: new handshakes get the new certificates, open calls carry on.
  const watching = watchCertDir(options.certsDir, (m) => {
    serverCreds.update(m.server);
    client = m.client;
    pool.renew();
    log.info("certificates reloaded", {});
  }, {
    signal: ctx.signal,
    known: first,
    intervalMs: options.certCheckMs ?? 1000,
    onProblem: (err) =>
      log.warn("certificates not reloaded", { error: errorText(err) }),
  });

  try {
    await untilAborted(ctx.signal);
  } finally {
    await server.stop(5000);
    pool.close();
    await watching;
  }
}
