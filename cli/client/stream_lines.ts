/**
 * Prints a merged stream of byte chunks (logs, dmesg) as lines, with node
 * prefixes when several nodes answer (with -o json|yaml: {node, line} per
 * line), and the per-node errors at the end.
 * @module
 */
import type { Data } from "../../lib/api/gen/common/common.ts";
import type { ClientMethodLike } from "../../lib/grpc/mod.ts";
import type { CommandContext } from "../command.ts";
import { stringifyYaml } from "../../lib/config/mod.ts";
import { NodeLines } from "./lines.ts";
import { forEachNodeMessage } from "./merged_stream.ts";
import { type NodeError, reportNodeErrors } from "./output.ts";
import { withApiClient } from "./session.ts";
import type { ApiClient } from "./api_client.ts";

/** With -o json|yaml, each line as {node, line}: a JSON line or a YAML document. */
function structuredLine(
  output: CommandContext["globals"]["output"],
): ((node: string, line: string) => string) | undefined {
  switch (output) {
    case "json":
      return (node, line) => JSON.stringify({ node, line }) + "\n";
    case "yaml":
      return (node, line) => "---\n" + stringifyYaml({ node, line });
    default:
      return undefined;
  }
}

/**
 * Calls the streaming `method` on every target and prints every chunk as
 * lines until the stream ends or Ctrl-C; returns the exit code.
 */
export async function streamLines<Req>(
  ctx: CommandContext,
  method: ClientMethodLike<Req, Data>,
  request: Req,
  explain?: (api: ApiClient, errors: NodeError[]) => Promise<NodeError[]>,
): Promise<number> {
  return await withApiClient(ctx, async (api) => {
    const lines = new NodeLines(
      (t) => ctx.io.stdout(t),
      structuredLine(ctx.globals.output) ?? api.nodes.length > 1,
    );
    let errors: NodeError[];
    try {
      errors = await forEachNodeMessage(
        ctx,
        api,
        api.stream(method, request, { signal: ctx.signal }),
        (node, msg) => lines.push(node, msg.bytes),
      );
    } finally {
      lines.flush();
    }
    return reportNodeErrors(
      ctx.io,
      explain ? await explain(api, errors) : errors,
    );
  });
}
