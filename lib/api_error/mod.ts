/**
 * The API's status error: `ApiError` with a gRPC-style status name, which
 * handlers throw, the bus carries between daemons and lib/grpc maps to a gRPC
 * status code at the edge (and back, for clients).
 * @module
 */
export {
  ApiError,
  boundedMessage,
  isStatusName,
  MAX_ERROR_MESSAGE_CHARS,
  STATUS_CODES,
  statusName,
  toApiError,
} from "./api_error.ts";
export type { StatusName } from "./api_error.ts";
