/**
 * Prints a merged stream of byte chunks (logs, dmesg) as lines, with node
 * prefixes when several nodes answer, and the per-node errors at the end.
 * @module
 */
import type { Data } from "../../lib/api/gen/common/common.ts";
import { ApiError } from "../../lib/bus/mod.ts";
import type { CommandContext } from "../command.ts";
import type { ApiClient } from "./api_client.ts";
import { NodeLines } from "./lines.ts";
import { type NodeError, reportNodeErrors } from "./output.ts";
import { nodeOf } from "./reply.ts";

/** Prints every chunk as lines until the stream ends or Ctrl-C; exit code. */
export async function streamLines(
  ctx: CommandContext,
  api: ApiClient,
  stream: AsyncIterable<Data>,
): Promise<number> {
  const lines = new NodeLines((t) => ctx.io.stdout(t), api.nodes.length > 1);
  const errors: NodeError[] = [];
  try {
    for await (const msg of stream) {
      const node = nodeOf(msg, api.defaultNode);
      if (msg.metadata?.error) {
        errors.push({ node, error: msg.metadata.error });
        continue;
      }
      lines.push(node, msg.bytes);
    }
  } catch (err) {
    // Ctrl-C ends a follow: not an error.
    if (!(ctx.signal.aborted && err instanceof ApiError)) throw err;
  } finally {
    lines.flush();
  }
  return reportNodeErrors(ctx.io, errors);
}
