import { GrpcServer } from "../../lib/grpc/mod.ts";
import { waitForCertDir, watchCertDir } from "../../lib/certdir/mod.ts";
import { NODE_CERT_TTL_MS } from "../../lib/constants/mod.ts";
import type { CertificateAuthority } from "../../lib/pki/mod.ts";
import type { Logger } from "../../lib/log/mod.ts";
import { checkCa } from "./ca_check.ts";
import { PeerRateLimiter } from "./rate_limit.ts";
import { parseTrustdSecrets } from "./secrets.ts";
import { trustdService } from "./service.ts";
import { TokenVerifier } from "./token_auth.ts";

/** trustd's settings (from flags). */
export interface TrustdSettings {
  /** Address to listen on. */
  address: string;
  /** Port (50001). */
  port: number;
  /** The node's hostname (for logs). */
  hostname: string;
  /** Folder with server.crt, server.key, ca.crt (watched for renewals). */
  certsDir: string;
  /** Longest certificate lifetime issued (ms). */
  maxTtlMs: number;
  /** Requests a node (token holders) or an address (others) may make at once. */
  rateBurst: number;
  /** Sustained requests per minute per node or address. */
  ratePerMinute: number;
}

/** Runs trustd until `signal` aborts: serve, reload certificates, close. */
export async function runTrustd(
  settings: TrustdSettings,
  ctx: {
    log: Logger;
    signal: AbortSignal;
    extra: Record<string, unknown>;
    /** Called once the server listens. */
    onServing?: () => void;
  },
): Promise<void> {
  const { log, signal } = ctx;
  const secrets = parseTrustdSecrets(ctx.extra);
  // Checked now, loaded for signing when the first request comes.
  checkCa(secrets.caCrt, secrets.caKey);
  let ca: Promise<CertificateAuthority> | undefined;
  const loadCa = () =>
    ca ??= import("../../lib/pki/mod.ts").then((pki) =>
      pki.CertificateAuthority.fromPem(secrets.caCrt, secrets.caKey)
    );
  const service = trustdService({
    ca: loadCa,
    tokens: new TokenVerifier(secrets.token),
    limiter: new PeerRateLimiter({
      burst: settings.rateBurst,
      perMinute: settings.ratePerMinute,
    }),
    policy: {
      defaultTtlMs: Math.min(NODE_CERT_TTL_MS, settings.maxTtlMs),
      maxTtlMs: settings.maxTtlMs,
      minTtlMs: 1000,
    },
    log,
  });
  log.info("waiting for certificates", { dir: settings.certsDir });
  const first = await waitForCertDir(settings.certsDir, { signal });
  const server = await GrpcServer.start({
    host: settings.address,
    port: settings.port,
    tls: first.server,
    requireClientCert: false,
    services: [service],
  });
  log.info("serving", {
    address: server.address,
    hostname: settings.hostname,
  });
  ctx.onServing?.();
  try {
    await watchCertDir(settings.certsDir, (m) => {
      server.updateTls(m.server);
      log.info("certificates reloaded", { dir: settings.certsDir });
    }, {
      signal,
      known: first,
      onProblem: (err) =>
        log.warn("certificates not usable yet", {
          dir: settings.certsDir,
          error: err instanceof Error ? err.message : String(err),
        }),
    });
  } finally {
    await server.close(2000);
    log.info("closed");
  }
}
