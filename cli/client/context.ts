/**
 * The client context a command runs with: endpoints, nodes and TLS material
 * from the client config (`--osconfig`, `$OSCONFIG`, `~/.osctl/config`, read
 * by lib/clientconfig), overridden by `-e/--endpoints` and `-n/--nodes`.
 * @module
 */
import {
  clientConfigPath,
  contextTls,
  loadClientConfig,
} from "../../lib/clientconfig/mod.ts";
import type { GlobalOptions } from "../command.ts";
import type { ApiClientOptions } from "./api_client.ts";

/** The resolved context, and where it came from. */
export interface ResolvedContext extends ApiClientOptions {
  /** The context's name. */
  context: string;
  /** The client config file. */
  path: string;
}

/**
 * Reads the client config and picks the context (--context, else the
 * current one); `-e`/`-n` replace the context's endpoints/nodes. Throws an
 * Error saying what is missing.
 */
export async function resolveClientContext(
  globals: GlobalOptions,
): Promise<ResolvedContext> {
  const path = clientConfigPath({ osconfig: globals.osconfig });
  const config = await loadClientConfig(path);
  const name = globals.context ?? config.context;
  if (!name) {
    throw new Error(
      `client config ${JSON.stringify(path)} has no current context`,
    );
  }
  const context = Object.hasOwn(config.contexts, name)
    ? config.contexts[name]
    : undefined;
  if (!context) {
    throw new Error(
      `context ${JSON.stringify(name)} is not in ${JSON.stringify(path)}`,
    );
  }
  return {
    path,
    context: name,
    endpoints: globals.endpoints.length > 0
      ? globals.endpoints
      : context.endpoints,
    nodes: globals.nodes.length > 0 ? globals.nodes : context.nodes,
    tls: contextTls(context),
  };
}
