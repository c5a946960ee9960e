/**
 * Reading a merged server stream: every message goes to a callback with the
 * node it came from, per-node error entries are kept for the end, and
 * Ctrl-C (the command's signal) ends a follow without an error.
 * @module
 */
import { ApiError } from "../../lib/api_error/mod.ts";
import type { CommandContext } from "../command.ts";
import type { ApiClient } from "./api_client.ts";
import type { NodeError } from "./output.ts";
import { type NodeMessage, nodeOf } from "./reply.ts";

/**
 * Hands every answer of `stream` to `each` until the stream ends or the
 * command is interrupted; returns the nodes' error entries, in order.
 */
export async function forEachNodeMessage<T extends NodeMessage>(
  ctx: CommandContext,
  api: ApiClient,
  stream: AsyncIterable<T>,
  each: (node: string, message: T) => void,
): Promise<NodeError[]> {
  const errors: NodeError[] = [];
  try {
    for await (const msg of stream) {
      const node = nodeOf(msg, api.defaultNode);
      if (msg.metadata?.error) {
        errors.push({ node, error: msg.metadata.error });
        continue;
      }
      each(node, msg);
    }
  } catch (err) {
    // Ctrl-C ends a follow: not an error.
    if (!(ctx.signal.aborted && err instanceof ApiError)) throw err;
  }
  return errors;
}
