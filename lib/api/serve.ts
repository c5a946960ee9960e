/**
 * Serving MachineService methods on the bus, typed from the method table
 * and the generated service definition: a daemon hands one handler per
 * method it owns, and a missing or misspelt one is a type error. This is a
 * separate entry point from lib/api/mod.ts because it loads every message
 * codec, which apid (that passes bodies through as bytes) must not.
 * @module
 */
import { MachineServiceService } from "./gen/machine/machine.ts";
import {
  type Bus,
  type HandlerContext,
  type MessageCodec,
  serveTyped,
  serveTypedStream,
  type UnaryContext,
} from "../bus/mod.ts";
import {
  type DaemonName,
  rpcSubject,
  streamSubject,
} from "../constants/mod.ts";
import {
  MACHINE_SERVICE_PATH,
  MAINTENANCE_METHODS,
  type MaintenanceMethod,
  type MethodName,
  METHODS,
  type MethodsOf,
  methodsOf,
} from "./methods.ts";

type Definition = typeof MachineServiceService;
/**
 * The definition of method `K`, found by its path: ts-proto's keys are not
 * always the name lower-cased ("EtcdRemoveMemberByID" is
 * "etcdRemoveMemberById").
 */
type DefinitionOf<K extends MethodName> = Extract<
  Definition[keyof Definition],
  { path: `${typeof MACHINE_SERVICE_PATH}${K}` }
>;

/** The request message of method `K`. */
export type RequestOf<K extends MethodName> = ReturnType<
  DefinitionOf<K>["requestDeserialize"]
>;
/** The response message (or stream message) of method `K`. */
export type ResponseOf<K extends MethodName> = Parameters<
  DefinitionOf<K>["responseSerialize"]
>[0];

/** A unary method's handler: throw ApiError to fail. */
export type UnaryMethodHandler<K extends MethodName> = (
  req: RequestOf<K>,
  ctx: UnaryContext,
) => Promise<ResponseOf<K>>;

/** What a stream method's handler sends through. */
export interface MethodStreamContext<K extends MethodName>
  extends HandlerContext {
  /** Sends one message; waits while the reader has no credit. */
  send(msg: ResponseOf<K>): Promise<void>;
}

/** A stream method's handler: send messages, return to end, throw to fail. */
export type StreamMethodHandler<K extends MethodName> = (
  req: RequestOf<K>,
  ctx: MethodStreamContext<K>,
) => Promise<void>;

/** The handler of method `K`, unary or stream as the table says. */
export type MethodHandler<K extends MethodName> =
  (typeof METHODS)[K]["stream"] extends true ? StreamMethodHandler<K>
    : UnaryMethodHandler<K>;

/** One handler for each method daemon `D` owns, no more, no fewer. */
export type MethodHandlers<D extends DaemonName> = {
  [K in MethodsOf<D>]: MethodHandler<K>;
};

/** One handler for each method a node in maintenance mode serves. */
export type MaintenanceHandlers = {
  [K in MaintenanceMethod]: MethodHandler<K>;
};

/** The request and response codecs of a method, from the definition. */
function codecsOf(name: MethodName): {
  req: MessageCodec<unknown>;
  res: MessageCodec<unknown>;
} {
  const found = Object.values(MachineServiceService).find((d) =>
    d.path === MACHINE_SERVICE_PATH + name
  );
  if (!found) throw new Error(`Cannot serve ${name}: not in the definition`);
  const def = found as unknown as {
    requestDeserialize(bytes: Uint8Array): unknown;
    responseSerialize(value: unknown): Uint8Array;
  };
  return {
    req: {
      encode: () => {
        throw new Error(`Cannot encode a ${name} request on its server`);
      },
      decode: (bytes) => def.requestDeserialize(bytes),
    },
    res: {
      encode: (value) => ({ finish: () => def.responseSerialize(value) }),
      decode: () => {
        throw new Error(`Cannot decode a ${name} response on its server`);
      },
    },
  };
}

function serveOne(
  bus: Bus,
  owner: DaemonName,
  name: MethodName,
  handler: unknown,
): void {
  if (typeof handler !== "function") {
    throw new Error(`Cannot serve ${name}: no handler`);
  }
  const codecs = codecsOf(name);
  if (METHODS[name].stream) {
    serveTypedStream(
      bus,
      streamSubject(owner, name),
      codecs,
      handler as (
        req: unknown,
        ctx: HandlerContext & { send(msg: unknown): Promise<void> },
      ) => Promise<void>,
    );
  } else {
    serveTyped(
      bus,
      rpcSubject(owner, name),
      codecs,
      handler as (req: unknown, ctx: UnaryContext) => Promise<unknown>,
    );
  }
}

/** Serves every method `daemon` owns, each on its subject, with its handler. */
export function serveMethods<D extends DaemonName>(
  bus: Bus,
  daemon: D,
  handlers: MethodHandlers<D>,
): void {
  for (const name of methodsOf(daemon)) {
    serveOne(bus, daemon, name, handlers[name]);
  }
}

/**
 * Serves one method on its owner's subject. For tests and partial servers;
 * a daemon serves all of its methods with {@linkcode serveMethods}.
 */
export function serveMethod<K extends MethodName>(
  bus: Bus,
  name: K,
  handler: MethodHandler<K>,
): void {
  serveOne(bus, METHODS[name].owner, name, handler);
}

/** Serves the maintenance-mode methods, each on its owner's subject. */
export function serveMaintenanceMethods(
  bus: Bus,
  handlers: MaintenanceHandlers,
): void {
  for (const name of MAINTENANCE_METHODS) {
    serveOne(bus, METHODS[name].owner, name, handlers[name]);
  }
}
