import type { CertificateAuthority } from "../pki/mod.ts";
import { base64ToPem, pemToBase64 } from "../pem/mod.ts";
import { CLIENT_CERT_TTL_MS, type Role, ROLES } from "../constants/mod.ts";
import type { ClientConfig, ClientContext } from "./types.ts";

/** Options for {@linkcode mintClientConfig}. */
export interface MintClientConfigOptions {
  /** The context's name (the cluster name, as talosctl does). */
  contextName: string;
  /** Roles carried in the certificate's Organization (default os:admin). */
  roles?: readonly string[];
  /** Certificate lifetime in ms (default 1 year). */
  ttlMs?: number;
  /** Endpoints to put in the context. */
  endpoints?: readonly string[];
  /** Default nodes to put in the context. */
  nodes?: readonly string[];
  /** Certificate CN (default the first role's name, e.g. "admin"). */
  commonName?: string;
}

/**
 * Issues a client certificate with the given roles and wraps it in a client
 * config with one context. Unknown roles are refused (typos would silently
 * grant nothing).
 */
export async function mintClientConfig(
  ca: CertificateAuthority,
  options: MintClientConfigOptions,
): Promise<ClientConfig> {
  const roles = [...(options.roles ?? ["os:admin"])];
  if (roles.length === 0) {
    throw new Error("Cannot mint client config: no role given");
  }
  for (const r of roles) {
    if (!ROLES.includes(r as Role) || r === "os:impersonator") {
      throw new Error(
        `Cannot mint client config: unknown role ${
          JSON.stringify(r)
        } (os:admin, os:operator, os:reader)`,
      );
    }
  }
  const ttlMs = options.ttlMs ?? CLIENT_CERT_TTL_MS;
  if (!(ttlMs >= 1000)) {
    throw new Error(`Cannot mint client config: ttl ${ttlMs} ms is too short`);
  }
  const pair = await ca.issueKeyPair({
    commonName: options.commonName ?? roles[0].replace(/^os:/, ""),
    organizations: roles,
    usages: ["clientAuth"],
    ttlMs,
  });
  const context: ClientContext = {
    endpoints: [...(options.endpoints ?? [])],
    nodes: [...(options.nodes ?? [])],
    ca: pemToBase64(ca.crtPem),
    crt: pemToBase64(pair.crt),
    key: pemToBase64(pair.key),
  };
  return {
    context: options.contextName,
    contexts: { [options.contextName]: context },
  };
}

/** The PEM TLS material of a context, as lib/grpc's client options take it. */
export function contextTls(
  context: ClientContext,
): { ca: string; cert: string; key: string } {
  return {
    ca: base64ToPem(context.ca),
    cert: base64ToPem(context.crt),
    key: base64ToPem(context.key),
  };
}
