/**
 * The client context a command runs with: endpoints, nodes and TLS material
 * from the client config (`--osconfig`, `$OSCONFIG`, `~/.osctl/config`, read
 * by lib/clientconfig), overridden by `-e/--endpoints` and `-n/--nodes`.
 * @module
 */
import {
  type ClientConfig,
  clientConfigPath,
  type ClientContext,
  contextTls,
  loadClientConfig,
} from "../../lib/clientconfig/mod.ts";
import type { GlobalOptions } from "../command.ts";
import { nearest } from "../suggest.ts";
import type { ApiClientOptions } from "./api_client.ts";

/** The resolved context, and where it came from. */
export interface ResolvedContext extends ApiClientOptions {
  /** The context's name. */
  context: string;
  /** The client config file. */
  path: string;
}

/**
 * Says a context is missing, with the nearest name and the ones there are:
 * `context "prd" is not in "~/.osctl/config"; did you mean "prod"? (contexts: prod, staging)`.
 */
export function unknownContextText(
  config: ClientConfig,
  path: string,
  name: string,
): string {
  const names = Object.keys(config.contexts).sort();
  const near = nearest(name, names);
  return `context ${JSON.stringify(name)} is not in ${JSON.stringify(path)}${
    near ? `; did you mean ${JSON.stringify(near)}?` : ""
  } (${names.length ? `contexts: ${names.join(", ")}` : "it has no contexts"})`;
}

/**
 * The context a command acts on: `name` (--context), else the config's
 * current one. Throws an Error naming `path` when there is none.
 */
export function selectContext(
  config: ClientConfig,
  path: string,
  name?: string,
): { name: string; context: ClientContext } {
  const selected = name ?? config.context;
  if (!selected) {
    throw new Error(
      `client config ${JSON.stringify(path)} has no current context`,
    );
  }
  const context = Object.hasOwn(config.contexts, selected)
    ? config.contexts[selected]
    : undefined;
  if (!context) {
    throw new Error(
      unknownContextText(config, path, selected),
    );
  }
  return { name: selected, context };
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
  const { name, context } = selectContext(config, path, globals.context);
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
