/** gRPC-style status names that travel over the bus and map 1:1 to gRPC codes. */
export type StatusName =
  | "Canceled"
  | "Unknown"
  | "InvalidArgument"
  | "DeadlineExceeded"
  | "NotFound"
  | "AlreadyExists"
  | "PermissionDenied"
  | "ResourceExhausted"
  | "FailedPrecondition"
  | "Aborted"
  | "OutOfRange"
  | "Unimplemented"
  | "Internal"
  | "Unavailable"
  | "DataLoss"
  | "Unauthenticated";

/** Numeric gRPC codes by status name. */
export const STATUS_CODES: Readonly<Record<StatusName, number>> = {
  Canceled: 1,
  Unknown: 2,
  InvalidArgument: 3,
  DeadlineExceeded: 4,
  NotFound: 5,
  AlreadyExists: 6,
  PermissionDenied: 7,
  ResourceExhausted: 8,
  FailedPrecondition: 9,
  Aborted: 10,
  OutOfRange: 11,
  Unimplemented: 12,
  Internal: 13,
  Unavailable: 14,
  DataLoss: 15,
  Unauthenticated: 16,
};

/** Returns the status name for a numeric gRPC code ("Unknown" if none). */
export function statusName(code: number): StatusName {
  for (const [name, c] of Object.entries(STATUS_CODES)) {
    if (c === code) return name as StatusName;
  }
  return "Unknown";
}

/** Whether a string is a known status name. */
export function isStatusName(s: string): s is StatusName {
  return s in STATUS_CODES;
}

/** An API error with a gRPC status: handlers throw it, clients receive it. */
export class ApiError extends Error {
  /** The status the error maps to at the gRPC edge. */
  readonly status: StatusName;

  /** Makes an API error with a status and a message. */
  constructor(status: StatusName, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ApiError";
    this.status = status;
  }

  /** The numeric gRPC code. */
  get code(): number {
    return STATUS_CODES[this.status];
  }
}

/** Turns any thrown value into an ApiError; foreign errors become Unknown. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof Error) {
    return new ApiError("Unknown", err.message, { cause: err });
  }
  return new ApiError("Unknown", String(err));
}

/** The longest error message sent to a client, in characters. */
export const MAX_ERROR_MESSAGE_CHARS = 1024;

/**
 * Cuts a message that may echo input to at most `max` characters (marking
 * the cut), so a huge value cannot make the status too large to deliver.
 */
export function boundedMessage(
  message: string,
  max: number = MAX_ERROR_MESSAGE_CHARS,
): string {
  if (message.length <= max) return message;
  const cut = `... (${message.length} characters, cut)`;
  return message.slice(0, Math.max(0, max - cut.length)) + cut;
}
