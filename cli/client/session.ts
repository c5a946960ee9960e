/**
 * Running an API command: the client built from the client config and
 * global flags, closed afterwards; replies printed as protobuf JSON or YAML
 * when `-o json|yaml` asks for it.
 * @module
 */
import { stringifyYaml } from "../../lib/config/mod.ts";
import type { CommandContext } from "../command.ts";
import { ApiClient } from "./api_client.ts";
import { resolveClientContext } from "./context.ts";

/** Runs `fn` with an API client for the command's context; closes it after. */
export async function withApiClient(
  ctx: CommandContext,
  fn: (client: ApiClient) => Promise<number>,
): Promise<number> {
  using client = new ApiClient(await resolveClientContext(ctx.globals));
  return await fn(client);
}

/** The protobuf JSON half of a generated message codec. */
export interface JsonCodec<T> {
  /** Protobuf JSON mapping (lowerCamelCase field names). */
  toJSON(message: T): unknown;
}

/**
 * Prints a message as protobuf JSON or YAML when the output format asks for
 * it; returns false for table output (the caller prints its table).
 */
export function printStructured<T>(
  ctx: CommandContext,
  codec: JsonCodec<T>,
  message: T,
): boolean {
  return print(ctx, codec, message, false);
}

/** Prints one streamed message as a JSON line or a YAML document. */
export function printStructuredLine<T>(
  ctx: CommandContext,
  codec: JsonCodec<T>,
  message: T,
): boolean {
  return print(ctx, codec, message, true);
}

/** A whole reply (indented JSON, a YAML mapping) or a stream's line. */
function print<T>(
  ctx: CommandContext,
  codec: JsonCodec<T>,
  message: T,
  line: boolean,
): boolean {
  switch (ctx.globals.output) {
    case "json":
      ctx.io.stdout(
        JSON.stringify(codec.toJSON(message), null, line ? undefined : 2) +
          "\n",
      );
      return true;
    case "yaml":
      ctx.io.stdout(
        (line ? "---\n" : "") + stringifyYaml(codec.toJSON(message)),
      );
      return true;
    default:
      return false;
  }
}
