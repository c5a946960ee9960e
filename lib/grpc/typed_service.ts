/**
 * Typed gRPC services from generated (ts-proto, grpc-js) definitions: a
 * handler is a plain async function (unary) or async generator (server
 * stream) of the decoded request and a {@linkcode CallContext}; it never sees
 * grpc-js types. ApiErrors become gRPC statuses at this edge.
 * @module
 */
import type { Buffer } from "node:buffer";
import * as grpc from "@grpc/grpc-js";
import { ApiError } from "../api_error/mod.ts";
import { statusOf as toServiceError } from "./_status.ts";

/** Who is calling and how. */
export interface CallContext {
  /** The method name, e.g. "Certificate". */
  method: string;
  /** Request metadata: lower-case keys, string values (binary keys skipped). */
  metadata: Readonly<Record<string, readonly string[]>>;
  /** The peer's transport address, "ip:port". */
  peerAddress: string;
  /** The verified client certificate's identity; undefined without one. */
  peerCert: { commonName: string; organizations: string[] } | undefined;
  /** The client's deadline (ms since epoch), undefined when it set none. */
  deadline: number | undefined;
  /** Aborted when the client cancels or goes away, or the call ends. */
  signal: AbortSignal;
}

/** A unary handler. */
export type UnaryHandler<Req, Res> = (
  request: Req,
  ctx: CallContext,
) => Promise<Res>;

/** A server-streaming handler: yields responses; return ends the stream. */
export type StreamHandler<Req, Res> = (
  request: Req,
  ctx: CallContext,
) => AsyncIterable<Res>;

/** One method of a generated grpc-js service definition. */
export interface MethodDefinitionLike<Req, Res> {
  /** "/pkg.Service/Method" */
  path: string;
  /** Client streaming (unsupported). */
  requestStream: boolean;
  /** Server streaming. */
  responseStream: boolean;
  /** Request decoder. */
  requestDeserialize(bytes: Buffer): Req;
  /** Response encoder. */
  responseSerialize(value: Res): Buffer;
}

/** Handlers for every method of a generated definition, typed from it. */
export type ServiceHandlers<D> = {
  [K in keyof D]: D[K] extends MethodDefinitionLike<infer Req, infer Res>
    ? D[K] extends { responseStream: true } ? StreamHandler<Req, Res>
    : UnaryHandler<Req, Res>
    : never;
};

/** A service ready for a {@linkcode GrpcServer}. */
export interface GrpcService {
  /** grpc-js service definition. */
  definition: grpc.ServiceDefinition;
  /** grpc-js implementation. */
  implementation: grpc.UntypedServiceImplementation;
}

/** Builds a service from a generated definition and typed handlers. */
export function typedService<D extends object>(
  definition: D,
  handlers: ServiceHandlers<D>,
): GrpcService {
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const [key, def] of Object.entries(definition)) {
    const m = def as MethodDefinitionLike<unknown, unknown>;
    const handler = (handlers as Record<string, unknown>)[key];
    if (typeof handler !== "function") {
      throw new Error(`Cannot serve ${m.path}: no handler for ${key}`);
    }
    if (m.requestStream) {
      throw new Error(
        `Cannot serve ${m.path}: client streaming is not supported`,
      );
    }
    const name = m.path.slice(m.path.lastIndexOf("/") + 1);
    implementation[key] = m.responseStream
      ? streamCall(name, handler as StreamHandler<unknown, unknown>)
      : unaryCall(name, handler as UnaryHandler<unknown, unknown>);
  }
  return {
    definition: definition as unknown as grpc.ServiceDefinition,
    implementation,
  };
}

function unaryCall(
  name: string,
  handler: UnaryHandler<unknown, unknown>,
): grpc.handleUnaryCall<unknown, unknown> {
  return (call, callback) => {
    const ac = new AbortController();
    const onCancel = () =>
      ac.abort(new ApiError("Canceled", "call canceled by the client"));
    call.on("cancelled", onCancel);
    let ctx: CallContext;
    try {
      ctx = contextOf(name, call, ac.signal);
    } catch (err) {
      callback(toServiceError(err));
      return;
    }
    handler(call.request, ctx).then(
      (reply) => callback(null, reply),
      (err) => callback(toServiceError(err)),
    ).finally(() => {
      call.off("cancelled", onCancel);
      ac.abort(new ApiError("Canceled", "call ended"));
    });
  };
}

function streamCall(
  name: string,
  handler: StreamHandler<unknown, unknown>,
): grpc.handleServerStreamingCall<unknown, unknown> {
  return (call) => {
    const ac = new AbortController();
    let wake: (() => void) | undefined;
    const onCancel = () => {
      ac.abort(new ApiError("Canceled", "call canceled by the client"));
      wake?.();
    };
    const onDrain = () => wake?.();
    call.on("cancelled", onCancel);
    call.on("drain", onDrain);
    const run = async () => {
      for await (
        const msg of handler(call.request, contextOf(name, call, ac.signal))
      ) {
        if (ac.signal.aborted) return;
        if (!call.write(msg)) {
          while (call.writableNeedDrain && !ac.signal.aborted) {
            await new Promise<void>((r) => (wake = r));
            wake = undefined;
          }
        }
      }
    };
    run().then(
      () => {
        if (!ac.signal.aborted) call.end();
      },
      (err) => {
        if (!ac.signal.aborted) call.emit("error", toServiceError(err));
      },
    ).finally(() => {
      call.off("cancelled", onCancel);
      call.off("drain", onDrain);
      ac.abort(new ApiError("Canceled", "call ended"));
    });
  };
}

interface CallLike {
  metadata: grpc.Metadata;
  getPeer(): string;
  getDeadline(): grpc.Deadline;
  getAuthContext(): { sslPeerCertificate?: { subject?: unknown } };
}

/** The context of a call, read from grpc-js's call object. */
export function contextOf(
  method: string,
  call: CallLike,
  signal: AbortSignal,
): CallContext {
  const deadline = call.getDeadline();
  const ms = deadline instanceof Date ? deadline.getTime() : deadline;
  const metadata: Record<string, string[]> = {};
  for (const key of Object.keys(call.metadata.getMap())) {
    if (key.endsWith("-bin")) continue;
    metadata[key] = call.metadata.get(key).filter((v): v is string =>
      typeof v === "string"
    );
  }
  return {
    method,
    metadata,
    peerAddress: call.getPeer(),
    peerCert: peerCertOf(call),
    deadline: Number.isFinite(ms) ? ms : undefined,
    signal,
  };
}

function peerCertOf(
  call: CallLike,
): { commonName: string; organizations: string[] } | undefined {
  const subject = call.getAuthContext()?.sslPeerCertificate?.subject as
    | Record<string, string | string[] | undefined>
    | undefined;
  if (!subject) return undefined;
  const list = (v: string | string[] | undefined): string[] =>
    v === undefined ? [] : Array.isArray(v) ? v : [v];
  return {
    commonName: list(subject.CN)[0] ?? "",
    organizations: list(subject.O),
  };
}
