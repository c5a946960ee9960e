/**
 * A gRPC service served as raw bytes: every method of a generated service
 * definition is registered with identity serializers, so a proxy passes
 * request and reply bytes through and decodes only what it must. Handlers get
 * plain bytes, metadata, the peer's certificate identity, the deadline and an
 * abort signal; they never see grpc-js types.
 * @module
 */
import type { Buffer } from "node:buffer";
import { nodeBuffer } from "../node_builtins/mod.ts";
import * as grpc from "@grpc/grpc-js";
import { ApiError } from "../api_error/mod.ts";
import { statusOf } from "./_status.ts";
import { contextOf as callContextOf } from "./typed_service.ts";

/** One method of a service, as the proxy needs it. */
export interface RawMethod {
  /** The method name, e.g. "Version". */
  name: string;
  /** The full path, e.g. "/machine.MachineService/Version". */
  path: string;
  /** Server streaming. */
  responseStream: boolean;
}

/** The shape of a generated grpc-js service definition this reads. */
export type ServiceDefinitionLike = Readonly<
  Record<string, {
    path: string;
    requestStream: boolean;
    responseStream: boolean;
  }>
>;

/** Lists the methods of a generated definition; client streaming is refused. */
export function rawMethods(definition: ServiceDefinitionLike): RawMethod[] {
  return Object.values(definition).map((m) => {
    if (m.requestStream) {
      throw new Error(
        `Cannot proxy ${m.path}: client streaming is not supported`,
      );
    }
    const name = m.path.slice(m.path.lastIndexOf("/") + 1);
    return { name, path: m.path, responseStream: m.responseStream };
  });
}

/** Request metadata: lower-case keys, string values (binary keys skipped). */
export type CallMetadata = Readonly<Record<string, readonly string[]>>;

/** Who is calling, from the verified client certificate. */
export interface PeerIdentity {
  /** Subject CN ("" when none). */
  commonName: string;
  /** Subject O values: the caller's roles. */
  organizations: string[];
  /** The peer's address "ip:port". */
  address: string;
}

/** What a raw handler gets with the request bytes. */
export interface RawCallContext {
  /** The method called. */
  method: RawMethod;
  /** Request metadata. */
  metadata: CallMetadata;
  /** The caller; undefined when the transport has no client certificate. */
  peer: PeerIdentity | undefined;
  /** The client's deadline (ms since epoch), undefined when it set none. */
  deadline: number | undefined;
  /** Aborted when the client cancels or goes away. */
  signal: AbortSignal;
}

/** What a raw stream handler gets: send with flow control. */
export interface RawStreamContext extends RawCallContext {
  /** Sends response headers now (so the client knows the stream is up). */
  sendHeaders(): void;
  /** Sends one message; resolves when the transport can take more. */
  send(data: Uint8Array): Promise<void>;
}

/** The proxy's handlers: one for unary methods, one for server streams. */
export interface RawHandlers {
  /** Handles a unary call; throw an ApiError to fail it. */
  unary(request: Uint8Array, ctx: RawCallContext): Promise<Uint8Array>;
  /** Handles a server-streaming call; return to end, throw to fail. */
  stream(request: Uint8Array, ctx: RawStreamContext): Promise<void>;
}

/** A service definition and implementation ready for `Server.addService`. */
export interface RawService {
  /** Identity-serializer definition of every method. */
  definition: grpc.ServiceDefinition;
  /** Handlers wired to the raw handlers. */
  implementation: grpc.UntypedServiceImplementation;
  /** Calls in flight; closing it drains the service. */
  gate: CallGate;
}

/**
 * Counts the calls in flight and, once closed, refuses new ones and ends
 * open streams, so a server can drain before it closes its connections.
 */
export class CallGate {
  #active = 0;
  #closing = new AbortController();
  #waiters = new Set<() => void>();

  /** Calls in flight. */
  get active(): number {
    return this.#active;
  }

  /** Aborted when the gate closes (open streams end with it). */
  get closing(): AbortSignal {
    return this.#closing.signal;
  }

  /** Admits a call; false once closed. */
  enter(): boolean {
    if (this.#closing.signal.aborted) return false;
    this.#active++;
    return true;
  }

  /** Marks an admitted call as done. */
  leave(): void {
    this.#active--;
    if (this.#active === 0) { for (const w of this.#waiters) w(); }
  }

  /** Refuses new calls and ends open streams. */
  close(): void {
    this.#closing.abort(
      new ApiError("Unavailable", "the server is shutting down"),
    );
  }

  /** Resolves when no call is in flight, or after `timeoutMs`. */
  async drained(timeoutMs: number): Promise<void> {
    if (this.#active === 0) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let waiter: (() => void) | undefined;
    await new Promise<void>((resolve) => {
      waiter = resolve;
      this.#waiters.add(resolve);
      timer = setTimeout(resolve, timeoutMs);
    });
    clearTimeout(timer);
    if (waiter) this.#waiters.delete(waiter);
  }
}

const SHUTTING_DOWN = new ApiError(
  "Unavailable",
  "the server is shutting down",
);

const identity = (b: Buffer): Buffer => b;
const toBuffer = (b: Uint8Array): Buffer =>
  nodeBuffer().from(b.buffer, b.byteOffset, b.byteLength);

/** Builds a raw service from a method list and handlers. */
export function rawService(
  methods: readonly RawMethod[],
  handlers: RawHandlers,
): RawService {
  const definition: Record<string, grpc.MethodDefinition<Buffer, Buffer>> = {};
  const implementation: grpc.UntypedServiceImplementation = {};
  const gate = new CallGate();
  // Keyed by path: one method may be served at more than one path.
  for (const method of methods) {
    definition[method.path] = {
      path: method.path,
      requestStream: false,
      responseStream: method.responseStream,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
      originalName: method.name,
    };
    implementation[method.path] = method.responseStream
      ? streamHandler(method, handlers, gate)
      : unaryHandler(method, handlers, gate);
  }
  return { definition, implementation, gate };
}

function unaryHandler(
  method: RawMethod,
  handlers: RawHandlers,
  gate: CallGate,
): grpc.handleUnaryCall<Buffer, Buffer> {
  return (call, callback) => {
    if (!gate.enter()) {
      callback(statusOf(SHUTTING_DOWN));
      return;
    }
    const ac = new AbortController();
    const onCancel = () =>
      ac.abort(new ApiError("Canceled", "call canceled by the client"));
    call.on("cancelled", onCancel);
    handlers.unary(call.request, contextOf(method, call, ac.signal)).then(
      (reply) => callback(null, toBuffer(reply)),
      (err) => callback(statusOf(err)),
    ).finally(() => {
      call.off("cancelled", onCancel);
      ac.abort(new ApiError("Canceled", "call ended"));
      gate.leave();
    });
  };
}

function streamHandler(
  method: RawMethod,
  handlers: RawHandlers,
  gate: CallGate,
): grpc.handleServerStreamingCall<Buffer, Buffer> {
  return (call) => {
    if (!gate.enter()) {
      call.emit("error", statusOf(SHUTTING_DOWN));
      return;
    }
    const ac = new AbortController();
    let waker: (() => void) | undefined;
    const onCancel = () => {
      ac.abort(new ApiError("Canceled", "call canceled by the client"));
      waker?.();
    };
    const onDrain = () => waker?.();
    // Draining: end the stream with Unavailable so the client reconnects.
    let drained = false;
    const onClosing = () => {
      drained = true;
      ac.abort(gate.closing.reason);
      waker?.();
    };
    call.on("cancelled", onCancel);
    call.on("drain", onDrain);
    gate.closing.addEventListener("abort", onClosing, { once: true });
    let headersSent = false;
    const sendHeaders = () => {
      if (headersSent || ac.signal.aborted) return;
      headersSent = true;
      call.sendMetadata(new grpc.Metadata());
    };
    const send = async (data: Uint8Array): Promise<void> => {
      if (ac.signal.aborted) throw ac.signal.reason;
      headersSent = true;
      if (!call.write(toBuffer(data))) {
        while (call.writableNeedDrain && !ac.signal.aborted) {
          await new Promise<void>((r) => (waker = r));
          waker = undefined;
        }
        if (ac.signal.aborted) throw ac.signal.reason;
      }
    };
    handlers.stream(call.request, {
      ...contextOf(method, call, ac.signal),
      sendHeaders,
      send,
    }).then(
      () => {
        if (!ac.signal.aborted) call.end();
        else if (drained) call.emit("error", statusOf(SHUTTING_DOWN));
      },
      (err) => {
        // grpc-js turns an "error" event into the call's final status.
        if (!ac.signal.aborted) call.emit("error", statusOf(err));
        else if (drained) call.emit("error", statusOf(SHUTTING_DOWN));
      },
    ).finally(() => {
      call.off("cancelled", onCancel);
      call.off("drain", onDrain);
      gate.closing.removeEventListener("abort", onClosing);
      ac.abort(new ApiError("Canceled", "call ended"));
      gate.leave();
    });
  };
}

function contextOf(
  method: RawMethod,
  call: Parameters<typeof callContextOf>[1],
  signal: AbortSignal,
): RawCallContext {
  const c = callContextOf(method.name, call, signal);
  return {
    method,
    metadata: c.metadata,
    peer: c.peerCert && { ...c.peerCert, address: c.peerAddress },
    deadline: c.deadline,
    signal,
  };
}
