/**
 * Reading merged replies: every message carries the node it came from in
 * metadata.hostname; failed nodes are messages with metadata.error.
 * @module
 */
import type { Metadata } from "../../lib/api/gen/common/common.ts";
import type { NodeError } from "./output.ts";

/** Any message of a multi-node reply. */
export interface NodeMessage {
  /** Which node, and its error if it failed. */
  metadata?: Metadata | undefined;
}

/** The node a message came from; `fallback` when apid did not tag it. */
export function nodeOf(message: NodeMessage, fallback: string): string {
  return message.metadata?.hostname || fallback;
}

/** Splits messages into answers and per-node errors, in order. */
export function splitReplies<T extends NodeMessage>(
  messages: readonly T[],
  fallback: string,
): { good: T[]; errors: NodeError[] } {
  const good: T[] = [];
  const errors: NodeError[] = [];
  for (const m of messages) {
    if (m.metadata?.error) {
      errors.push({ node: nodeOf(m, fallback), error: m.metadata.error });
    } else good.push(m);
  }
  return { good, errors };
}
