import { ApiError, boundedMessage } from "../api_error/mod.ts";
import type {
  Bus,
  HandlerContext,
  RequestOptions,
  StreamOptions,
  UnaryContext,
} from "./bus.ts";

/** The encode/decode pair ts-proto generates for every message. */
export interface MessageCodec<T> {
  /** Encodes a message. */
  encode(message: T): { finish(): Uint8Array };
  /** Decodes a message. */
  decode(input: Uint8Array): T;
}

/** Serves a unary method with typed request and reply. */
export function serveTyped<Req, Res>(
  bus: Bus,
  subject: string,
  codecs: { req: MessageCodec<Req>; res: MessageCodec<Res> },
  fn: (req: Req, ctx: UnaryContext) => Promise<Res>,
): void {
  bus.serve(subject, async (data, ctx) => {
    const req = decodeRequest(codecs.req, data, subject);
    return codecs.res.encode(await fn(req, ctx)).finish();
  });
}

/** Serves a server-streaming method with typed request and messages. */
export function serveTypedStream<Req, Res>(
  bus: Bus,
  subject: string,
  codecs: { req: MessageCodec<Req>; res: MessageCodec<Res> },
  fn: (
    req: Req,
    ctx: HandlerContext & { send(msg: Res): Promise<void> },
  ) => Promise<void>,
): void {
  bus.serveStream(subject, async (data, ctx) => {
    const req = decodeRequest(codecs.req, data, subject);
    await fn(req, {
      ...ctx,
      send: (msg: Res) => ctx.send(codecs.res.encode(msg).finish()),
    });
  });
}

/**
 * Decodes a request; bytes that are not the method's message are
 * InvalidArgument with a short reason (never the decoder's raw text at length).
 */
export function decodeRequest<T>(
  codec: MessageCodec<T>,
  data: Uint8Array,
  subject: string,
): T {
  try {
    return codec.decode(data);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    const method = subject.slice(subject.lastIndexOf(".") + 1);
    throw new ApiError(
      "InvalidArgument",
      `invalid ${method} request: ${boundedMessage(reason, 120)}`,
    );
  }
}

/** Calls a unary method with typed request and reply. */
export async function callTyped<Req, Res>(
  bus: Bus,
  subject: string,
  codecs: { req: MessageCodec<Req>; res: MessageCodec<Res> },
  req: Req,
  options?: RequestOptions,
): Promise<Res> {
  const data = await bus.request(
    subject,
    codecs.req.encode(req).finish(),
    options,
  );
  return codecs.res.decode(data);
}

/** Opens a typed server stream. */
export async function* streamTyped<Req, Res>(
  bus: Bus,
  subject: string,
  codecs: { req: MessageCodec<Req>; res: MessageCodec<Res> },
  req: Req,
  options?: StreamOptions,
): AsyncGenerator<Res, void, undefined> {
  for await (
    const data of bus.openStream(
      subject,
      codecs.req.encode(req).finish(),
      options,
    )
  ) {
    yield codecs.res.decode(data);
  }
}
