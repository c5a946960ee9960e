/**
 * The client context a command runs with: endpoints, nodes and TLS material
 * from the client config (`--osconfig`, `$OSCONFIG`, `~/.osctl/config`),
 * overridden by `-e/--endpoints` and `-n/--nodes`.
 * @module
 */
import { parse } from "yaml";
import type { GlobalOptions } from "../command.ts";
import type { ApiClientOptions } from "./api_client.ts";

/** The default client config path: $OSCONFIG, else ~/.osctl/config. */
export function defaultConfigPath(): string {
  const env = Deno.env.get("OSCONFIG");
  if (env) return env;
  const home = Deno.env.get("HOME");
  if (!home) throw new Error("Cannot find the client config: HOME is not set");
  return `${home}/.osctl/config`;
}

/**
 * Reads the client config and picks the context; `-e`/`-n` replace the
 * context's endpoints/nodes. Throws an Error saying what is missing.
 */
export async function resolveClientContext(
  globals: GlobalOptions,
): Promise<ApiClientOptions & { context: string; path: string }> {
  const path = globals.osconfig ?? defaultConfigPath();
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (cause) {
    throw new Error(`Cannot read client config ${JSON.stringify(path)}`, {
      cause,
    });
  }
  let raw: unknown;
  try {
    raw = parse(text, { maxAliasCount: 10 });
  } catch (cause) {
    throw new Error(`Cannot parse client config ${JSON.stringify(path)}`, {
      cause,
    });
  }
  const doc = record(raw, path);
  const contexts = record(doc.contexts ?? {}, `${path}: contexts`);
  const name = globals.context ??
    (typeof doc.context === "string" ? doc.context : undefined);
  if (!name) {
    throw new Error(
      `client config ${JSON.stringify(path)} has no current context`,
    );
  }
  if (!Object.hasOwn(contexts, name)) {
    throw new Error(
      `context ${JSON.stringify(name)} is not in ${JSON.stringify(path)}`,
    );
  }
  const c = record(contexts[name], `context ${name}`);
  const list = (v: unknown, what: string): string[] => {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
      throw new Error(`context ${name}: ${what} must be a list of strings`);
    }
    return v as string[];
  };
  const pem = (v: unknown, what: string): string => {
    if (typeof v !== "string" || v === "") {
      throw new Error(`context ${name}: ${what} is missing`);
    }
    return new TextDecoder().decode(
      Uint8Array.from(atob(v.replace(/\s+/g, "")), (ch) => ch.charCodeAt(0)),
    );
  };
  return {
    path,
    context: name,
    endpoints: globals.endpoints.length > 0
      ? globals.endpoints
      : list(c.endpoints, "endpoints"),
    nodes: globals.nodes.length > 0 ? globals.nodes : list(c.nodes, "nodes"),
    tls: {
      ca: pem(c.ca, "ca"),
      cert: pem(c.crt, "crt"),
      key: pem(c.key, "key"),
    },
  };
}

function record(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new Error(`${what} must be a mapping`);
  }
  return v as Record<string, unknown>;
}
