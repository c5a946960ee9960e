/**
 * An unknown service or log id answered with the ids the node does have,
 * so a typo is one glance from its fix.
 * @module
 */
import { MachineServiceService } from "../../lib/api/gen/machine/machine.ts";
import type { ApiClient } from "./api_client.ts";
import type { NodeError } from "./output.ts";
import { nodeOf } from "./reply.ts";

const UNKNOWN_ID =
  /^(?:service|log) "([^"]*)" (?:was not registered|is not registered|not defined)$/;

/** The valid ids as a sentence ending: "; valid ids: apid, machined, nats". */
export function validIdsText(ids: readonly string[]): string {
  return `; valid ids: ${[...ids].sort().join(", ")}`;
}

/**
 * Adds each node's service ids to its "unknown id" errors (one ServiceList
 * call for all of them); other errors, and all of them when that call
 * fails, stay as they are.
 */
export async function withValidIds(
  api: ApiClient,
  errors: NodeError[],
  options: { signal: AbortSignal },
): Promise<NodeError[]> {
  if (!errors.some((e) => UNKNOWN_ID.test(e.error))) return errors;
  let ids: Map<string, string[]>;
  try {
    const reply = await api.unary(MachineServiceService.serviceList, {
      metadata: undefined,
    }, { signal: options.signal, timeoutMs: 10_000 });
    ids = new Map(
      reply.messages.filter((m) => !m.metadata?.error).map((m) => [
        nodeOf(m, api.defaultNode),
        m.services.map((s) => s.id),
      ]),
    );
  } catch {
    return errors;
  }
  return errors.map((e) => {
    const known = ids.get(e.node);
    return UNKNOWN_ID.test(e.error) && known
      ? { node: e.node, error: e.error + validIdsText(known) }
      : e;
  });
}
