// ApiError <-> gRPC status, for this folder's typed server and client.
import * as grpc from "@grpc/grpc-js";
import {
  ApiError,
  boundedMessage,
  STATUS_CODES,
  statusName,
  toApiError,
} from "../api_error/mod.ts";

/** Maps any thrown value to the status error grpc-js sends to the client. */
export function statusOf(err: unknown): Partial<grpc.ServiceError> {
  const e = toApiError(err);
  return {
    code: STATUS_CODES[e.status] as grpc.status,
    // The message travels in a trailer: keep it far below header limits.
    details: boundedMessage(e.message),
    metadata: new grpc.Metadata(),
  };
}

/** Maps a grpc-js client error to an ApiError with the same status. */
export function apiErrorOf(err: unknown, address: string): ApiError {
  if (err instanceof ApiError) return err;
  const e = err as Partial<grpc.ServiceError>;
  if (typeof e?.code === "number") {
    return new ApiError(
      e.code === 0 ? "Unknown" : statusName(e.code),
      e.details || e.message || `call to ${address} failed`,
      { cause: err },
    );
  }
  const message = err instanceof Error ? err.message : String(err);
  return new ApiError("Unavailable", `call to ${address} failed: ${message}`, {
    cause: err,
  });
}
