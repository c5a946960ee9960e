/**
 * Printing the reply of an action every node acknowledges with an actor ID
 * (reboot, shutdown): a NODE / ACTOR ID table, or the whole reply as JSON or
 * YAML, then the per-node errors.
 * @module
 */
import type { CommandContext } from "../command.ts";
import type { ApiClient } from "./api_client.ts";
import { formatTable, reportNodeErrors } from "./output.ts";
import { type NodeMessage, nodeOf, splitReplies } from "./reply.ts";
import { type JsonCodec, printStructured } from "./session.ts";

/** One node's acknowledgement. */
export interface ActorMessage extends NodeMessage {
  /** The ID of the action started on the node. */
  actorId: string;
}

/** Prints an actor-ID reply; returns the exit code (1 when a node failed). */
export function printActorReply<T extends { messages: ActorMessage[] }>(
  ctx: CommandContext,
  api: ApiClient,
  codec: JsonCodec<T>,
  reply: T,
): number {
  const { good, errors } = splitReplies(reply.messages, api.defaultNode);
  if (!printStructured(ctx, codec, reply)) {
    ctx.io.stdout(formatTable(
      ["NODE", "ACTOR ID"],
      good.map((m) => [nodeOf(m, api.defaultNode), m.actorId]),
    ));
  }
  return reportNodeErrors(ctx.io, errors);
}
