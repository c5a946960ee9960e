import type { ClientConfig } from "./types.ts";

/**
 * Merges `incoming` into `base` (as `talosctl config merge`): contexts whose
 * names are taken are renamed name-1, name-2, ...; the current context
 * becomes incoming's (renamed) current one. Returns a new config and the
 * renames made.
 */
export function mergeClientConfigs(
  base: ClientConfig,
  incoming: ClientConfig,
): { config: ClientConfig; renamed: [string, string][] } {
  const contexts = structuredClone(base.contexts);
  const renamed: [string, string][] = [];
  let current = base.context;
  for (const [name, ctx] of Object.entries(incoming.contexts)) {
    let target = name;
    for (let i = 1; target in contexts; i++) target = `${name}-${i}`;
    if (target !== name) renamed.push([name, target]);
    contexts[target] = structuredClone(ctx);
    if (name === incoming.context) current = target;
  }
  return { config: { context: current, contexts }, renamed };
}
