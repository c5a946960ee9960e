/**
 * The one wrapper around grpc-js: (m)TLS servers whose certificates rotate
 * without dropping calls, client channels that verify a node's DNS SAN when
 * dialing an IP, typed and raw services whose handlers never see grpc-js
 * types, and ApiError <-> gRPC status at the edge.
 * @module
 */
export { clientTls, RotatingServerCredentials } from "./tls.ts";
export type { ClientTls, ClientTlsOptions } from "./tls.ts";
export { GrpcServer } from "./server.ts";
export type { GrpcServerOptions } from "./server.ts";
export { contextOf, typedService } from "./typed_service.ts";
export type {
  CallContext,
  GrpcService,
  MethodDefinitionLike,
  ServiceHandlers,
  StreamHandler,
  UnaryHandler,
} from "./typed_service.ts";
export { TlsChannel } from "./typed_client.ts";
export type {
  ClientMethodLike,
  TlsChannelOptions,
  UnaryCallOptions,
} from "./typed_client.ts";
export { ChannelPool } from "./channel_pool.ts";
export type {
  CallKind,
  ChannelLease,
  ChannelPoolOptions,
  TargetUse,
} from "./channel_pool.ts";
export { ProxyServer } from "./proxy_server.ts";
export type { ProxyServerLimits, ProxyServerOptions } from "./proxy_server.ts";
export { RawChannel } from "./raw_client.ts";
export type { RawCallOptions, RawChannelOptions } from "./raw_client.ts";
export { rawMethods, rawService } from "./raw_service.ts";
export type {
  CallMetadata,
  PeerIdentity,
  RawCallContext,
  RawHandlers,
  RawMethod,
  RawService,
  RawStreamContext,
  ServiceDefinitionLike,
} from "./raw_service.ts";
