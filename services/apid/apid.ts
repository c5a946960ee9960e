/**
 * apid wired together: the mTLS gRPC server on <address>:50000 serving every
 * MachineService method as raw bytes through the proxy, the local bus
 * backend, the forwarding channel pool (control planes only), and the
 * certificate watcher that rotates both without dropping calls.
 * @module
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { MachineServiceService } from "../../lib/api/gen/machine/machine.ts";
import { APID_PORT } from "../../lib/constants/mod.ts";
import { ChannelPool } from "../../lib/grpc/channel_pool.ts";
import {
  ProxyServer,
  type ProxyServerLimits,
} from "../../lib/grpc/proxy_server.ts";
import { rawMethods, rawService } from "../../lib/grpc/raw_service.ts";
import { errorText, type Logger } from "../../lib/log/mod.ts";
import {
  type ApidCertFiles,
  peerCredentials,
  readCertFiles,
  RotatingServerCredentials,
} from "./_tls.ts";
import { type BusLike, LocalBackend, RemoteBackend } from "./backends.ts";
import { ApidProxy } from "./proxy.ts";

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
  /** How often the certificate files are checked for changes (default 2 s). */
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
  let files = await readCertFiles(options.certsDir);
  checkPairs(files);
  if (options.controlPlane && !files.clientCrt) {
    throw new Error(
      `Cannot start apid as a control plane: no client.crt in "${options.certsDir}"`,
    );
  }
  const serverCreds = new RotatingServerCredentials(files);
  const port = options.port ?? APID_PORT;
  const pool = new ChannelPool({
    port,
    credentials: (target) => peerCredentials(files, target),
    maxMessageBytes: options.maxMessageBytes,
  });
  const self = new Set([options.address, options.hostname.toLowerCase()]);
  const proxy = new ApidProxy({
    local: new LocalBackend(ctx.bus),
    remote: (target) => new RemoteBackend(target, pool, options.address),
    canForward: options.controlPlane,
    isSelf: (target) => self.has(target.toLowerCase()),
    legTimeoutMs: options.legTimeoutMs,
    log,
  });
  const server = await ProxyServer.start(
    rawService(rawMethods(MachineServiceService), proxy),
    {
      ...options,
      address: options.address.includes(":")
        ? `[${options.address}]:${port}`
        : `${options.address}:${port}`,
      credentials: serverCreds.credentials,
      onTlsError: (message) => log.debug("tls connection refused", { message }),
    },
  );
  log.info("listening", {
    address: options.address,
    port: server.port,
    controlPlane: options.controlPlane,
  });
  ctx.onListening?.(server.port);

  const watcher = setInterval(async () => {
    try {
      const next = await readCertFiles(options.certsDir);
      if (sameFiles(next, files)) return;
      checkPairs(next);
      files = next;
      serverCreds.update(next);
      pool.renew();
      log.info("certificates reloaded", {});
    } catch (err) {
      // Half-written files: keep the old certificates and look again later.
      log.warn("certificates not reloaded", { error: errorText(err) });
    }
  }, options.certCheckMs ?? 2000);

  try {
    await new Promise<void>((resolve) => {
      if (ctx.signal.aborted) resolve();
      else {ctx.signal.addEventListener("abort", () => resolve(), {
          once: true,
        });}
    });
  } finally {
    clearInterval(watcher);
    await server.stop(5000);
    pool.close();
  }
}

function sameFiles(a: ApidCertFiles, b: ApidCertFiles): boolean {
  return a.ca === b.ca && a.serverCrt === b.serverCrt &&
    a.serverKey === b.serverKey && a.clientCrt === b.clientCrt &&
    a.clientKey === b.clientKey;
}

/** Throws unless each certificate belongs to its key. */
function checkPairs(files: ApidCertFiles): void {
  const check = (crt: string, key: string, what: string) => {
    if (!new X509Certificate(crt).checkPrivateKey(createPrivateKey(key))) {
      throw new Error(`Cannot use ${what}: key does not match certificate`);
    }
  };
  check(files.serverCrt, files.serverKey, "server.crt");
  if (files.clientCrt && files.clientKey) {
    check(files.clientCrt, files.clientKey, "client.crt");
  }
}
