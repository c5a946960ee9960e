/**
 * The node-local bus: one NATS client for every daemon, typed subjects,
 * request/reply with deadlines, server streams with flow control, and the
 * nats-server config with one least-privileged user per daemon.
 * @module
 */
export { Bus } from "./bus.ts";
export type {
  BusConnectOptions,
  BusCredentials,
  BusHeaders,
  HandlerContext,
  RequestOptions,
  StreamContext,
  StreamHandler,
  StreamOptions,
  UnaryContext,
  UnaryHandler,
} from "./bus.ts";
export { busPermissions, callersOf } from "./permissions.ts";
export type { BusPermissions } from "./permissions.ts";
export { natsServerConfig, randomPassword } from "./nats_config.ts";
export type { NatsConfigOptions } from "./nats_config.ts";
export {
  callTyped,
  serveTyped,
  serveTypedStream,
  streamTyped,
} from "./typed.ts";
export type { MessageCodec } from "./typed.ts";
