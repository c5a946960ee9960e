/**
 * GenerateClientConfiguration on the bus: a control plane mints a client
 * certificate with the asked roles from the OS CA key in its machine config
 * and returns it wrapped in a client config. Admin only (apid checks the
 * role; this checks it again from the roles apid passed on).
 * @module
 */
import { type MethodHandler, serveMethod } from "../../../lib/api/serve.ts";
import type { Bus } from "../../../lib/bus/mod.ts";
import { ApiError } from "../../../lib/api_error/mod.ts";
import type { MachineConfig } from "../../../lib/config/mod.ts";
import {
  CLIENT_CERT_TTL_MS,
  HEADER_CALLER,
  HEADER_ROLES,
} from "../../../lib/constants/mod.ts";
import type { Logger } from "../../../lib/log/mod.ts";
import { base64ToPem } from "../../../lib/pem/mod.ts";

const encoder = new TextEncoder();
const utf8 = (text: string): Uint8Array => encoder.encode(text);

/** What the handler reads from the node. */
export interface ClientConfigSource {
  /** The machine config (the CA key is there on control planes only). */
  config(): MachineConfig;
  /** The node's API endpoint, put in the new context. */
  address: string;
}

/** Longest certificate lifetime one may ask for: 10 years. */
const MAX_TTL_SECONDS = 87600 * 3600;

/** Serves machined.rpc.GenerateClientConfiguration alone. */
export function serveClientConfigApi(
  bus: Bus,
  source: ClientConfigSource,
  log: Logger,
): void {
  serveMethod(
    bus,
    "GenerateClientConfiguration",
    generateClientConfiguration(source, log),
  );
}

/** The GenerateClientConfiguration handler. */
export function generateClientConfiguration(
  source: ClientConfigSource,
  log: Logger,
): MethodHandler<"GenerateClientConfiguration"> {
  return async (req, ctx) => {
    const callerRoles = (ctx.headers[HEADER_ROLES] ?? "").split(",");
    if (!callerRoles.includes("os:admin")) {
      throw new ApiError(
        "PermissionDenied",
        "not authorized: GenerateClientConfiguration needs os:admin",
      );
    }
    const config = source.config();
    const { crt, key } = config.machine.ca;
    if (!key) {
      throw new ApiError(
        "FailedPrecondition",
        "client certificates are minted by control planes only",
      );
    }
    const ttlSeconds = Number(req.crtTtlSeconds);
    if (ttlSeconds < 0 || ttlSeconds > MAX_TTL_SECONDS) {
      throw new ApiError(
        "InvalidArgument",
        `crt_ttl_seconds ${ttlSeconds} is out of range (0..${MAX_TTL_SECONDS})`,
      );
    }
    // X.509 and the client config code load on first use, not at boot.
    const [{ CertificateAuthority }, clientconfig] = await Promise.all([
      import("../../../lib/pki/mod.ts"),
      import("../../../lib/clientconfig/mod.ts"),
    ]);
    const { contextTls, mintClientConfig, stringifyClientConfig } =
      clientconfig;
    const ca = await CertificateAuthority.fromPem(
      base64ToPem(crt),
      base64ToPem(key),
    );
    let minted;
    try {
      minted = await mintClientConfig(ca, {
        contextName: config.cluster.name,
        roles: req.roles,
        ttlMs: ttlSeconds > 0 ? ttlSeconds * 1000 : CLIENT_CERT_TTL_MS,
        endpoints: [source.address],
      });
    } catch (err) {
      throw new ApiError(
        "InvalidArgument",
        err instanceof Error ? err.message : String(err),
      );
    }
    const tls = contextTls(minted.contexts[config.cluster.name]);
    log.info("audit", {
      method: "GenerateClientConfiguration",
      caller: ctx.headers[HEADER_CALLER] ?? "",
      roles: ctx.headers[HEADER_ROLES] ?? "",
      grantedRoles: req.roles,
      ttlSeconds: ttlSeconds || CLIENT_CERT_TTL_MS / 1000,
    });
    return {
      messages: [{
        metadata: undefined,
        ca: utf8(tls.ca),
        crt: utf8(tls.cert),
        key: utf8(tls.key),
        osconfig: utf8(stringifyClientConfig(minted)),
      }],
    };
  };
}
