/**
 * apid in maintenance mode (a node without a machine config, as Talos has
 * it): server-only TLS with the certificate machined made at boot (clients
 * connect with `--insecure`, no client certificate), and only
 * ApplyConfiguration and Version are served, forwarded to machined on the
 * bus. Every other method is refused with PermissionDenied.
 * @module
 */
import { MachineServiceService } from "../../lib/api/gen/machine/machine.ts";
import {
  isMethodName,
  MAINTENANCE_METHODS,
  type MethodName,
  METHODS,
} from "../../lib/api/mod.ts";
import { type Bus, callTyped, type MessageCodec } from "../../lib/bus/mod.ts";
import { ApiError } from "../../lib/api_error/mod.ts";
import {
  APID_PORT,
  HEADER_CALLER,
  HEADER_ROLES,
  rpcSubject,
} from "../../lib/constants/mod.ts";
import {
  type CallContext,
  GrpcServer,
  typedService,
} from "../../lib/grpc/mod.ts";
import type { Logger } from "../../lib/log/mod.ts";
import { waitForCertDir } from "../../lib/certdir/mod.ts";
import { untilAborted } from "../../lib/daemon/mod.ts";

/** The parts of a generated method definition that forwarding uses. */
interface GeneratedMethod {
  path: string;
  responseStream: boolean;
  requestSerialize(value: unknown): Uint8Array;
  responseDeserialize(bytes: Uint8Array): unknown;
}

/** How maintenance apid runs. */
export interface MaintenanceApidOptions {
  /** Address to listen on (the node address). */
  address: string;
  /** Port (default 50000). */
  port?: number;
  /** Folder with server.crt, server.key and ca.crt. */
  certsDir: string;
  /** Deadline of a forwarded call (ms, default 30 s: validation and a disk write). */
  callTimeoutMs?: number;
}

/** What maintenance apid gets from its daemon frame. */
export interface MaintenanceApidContext {
  /** The node-local bus. */
  bus: Bus;
  /** Logger. */
  log: Logger;
  /** Stops it. */
  signal: AbortSignal;
  /** Called once listening, with the port. */
  onListening?: (port: number) => void;
}

/** Refusal of everything but the maintenance methods. */
export function maintenanceRefusal(method: string): ApiError {
  return new ApiError(
    "PermissionDenied",
    `maintenance mode: ${method} is not available until the node has a machine config; apply one with "osctl apply-config --insecure" (${
      MAINTENANCE_METHODS.join(" and ")
    } are served)`,
  );
}

/** Runs maintenance apid until `ctx.signal` aborts. */
export async function runMaintenanceApid(
  options: MaintenanceApidOptions,
  ctx: MaintenanceApidContext,
): Promise<void> {
  const { bus, log } = ctx;
  const certs = await waitForCertDir(options.certsDir, { signal: ctx.signal });
  const forward = (
    method: MethodName,
    def: GeneratedMethod,
  ) =>
  (req: unknown, call: CallContext): Promise<unknown> => {
    log.info("audit", {
      method,
      caller: "maintenance",
      peer: call.peerAddress,
    });
    const codecs: { req: MessageCodec<unknown>; res: MessageCodec<unknown> } = {
      req: {
        encode: (v) => ({ finish: () => def.requestSerialize(v) }),
        decode: () => {
          throw new Error(`Cannot decode a ${method} request here`);
        },
      },
      res: {
        encode: () => {
          throw new Error(`Cannot encode a ${method} response here`);
        },
        decode: (bytes) => def.responseDeserialize(bytes),
      },
    };
    return callTyped(
      bus,
      rpcSubject(METHODS[method].owner, method),
      codecs,
      req,
      {
        timeoutMs: options.callTimeoutMs ?? 30_000,
        signal: call.signal,
        headers: { [HEADER_ROLES]: "", [HEADER_CALLER]: "maintenance" },
      },
    );
  };
  const handlers: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(MachineServiceService)) {
    const def = value as unknown as GeneratedMethod;
    const name = def.path.slice(def.path.lastIndexOf("/") + 1);
    if (isMethodName(name) && METHODS[name].maintenance) {
      if (def.responseStream) {
        throw new Error(`Cannot serve ${name} in maintenance mode: a stream`);
      }
      handlers[key] = forward(name, def);
      continue;
    }
    handlers[key] = def.responseStream
      // deno-lint-ignore require-yield
      ? async function* () {
        throw maintenanceRefusal(name);
      }
      : () => Promise.reject(maintenanceRefusal(name));
  }
  const server = await GrpcServer.start({
    host: options.address,
    port: options.port ?? APID_PORT,
    tls: certs.server,
    requireClientCert: false,
    services: [
      typedService(
        MachineServiceService,
        handlers as Parameters<typeof typedService>[1] as never,
      ),
    ],
  });
  log.info("listening", {
    address: options.address,
    port: server.port,
    maintenance: true,
  });
  ctx.onListening?.(server.port);
  try {
    await untilAborted(ctx.signal);
  } finally {
    await server.close(2000);
  }
}
