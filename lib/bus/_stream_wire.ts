/**
 * The bus's server-stream protocol on the wire, shared by its two halves
 * (`_stream_server.ts`, `_stream_client.ts`), and the small transport both
 * run over, so each half can be tested with a fake one.
 *
 * A reader publishes the request to the method's subject with its inbox as
 * the reply and `bronze-credit: <window>`. The server answers on the inbox:
 * `open` (with `bronze-ctl`, the subject for the reader's control messages),
 * then `data` messages, at most as many as the reader has granted, `hb`
 * heartbeats while it has nothing to say, and one `end` (with the error
 * headers when the handler failed). The reader sends `credit` (with
 * `bronze-credit: <n>`, 0 as a keepalive) and `cancel` on the control
 * subject. Every message's kind is its `bronze-kind` header.
 * @module
 */
import type { BusHeaders } from "./bus.ts";
import { HEADER_ERROR_CODE, HEADER_ERROR_MESSAGE } from "../constants/mod.ts";
import { ApiError, isStatusName, toApiError } from "../api_error/mod.ts";

/** One message as a stream half sees it. */
export interface StreamMessage {
  /** The payload. */
  data: Uint8Array;
  /** Its headers, names in lower case. */
  headers: BusHeaders;
  /** The server's status code (503: no responders), 0 when there is none. */
  status: number;
}

/** What a stream half needs of the bus connection. */
export interface StreamTransport {
  /** Publishes one message; throws when the connection is closed. */
  publish(
    subject: string,
    data: Uint8Array,
    options: { headers: BusHeaders; reply?: string },
  ): void;
  /** Delivers each message on `subject` to `onMessage`; returns the unsubscribe. */
  subscribe(
    subject: string,
    onMessage: (message: StreamMessage) => void,
  ): () => void;
}

/** The header naming a message's kind. */
export const KIND = "bronze-kind";
/** The header of `open` naming the subject for credit and cancel. */
export const CTL = "bronze-ctl";
/** The header carrying credit: the window on the request, a grant on `credit`. */
export const CREDIT = "bronze-credit";
/** The kinds of message a stream carries. */
export type StreamKind = "open" | "data" | "hb" | "end" | "credit" | "cancel";
/** An empty payload. */
export const EMPTY: Uint8Array = new Uint8Array(0);
/** How often both ends of a stream prove they are alive (ms). */
export const HEARTBEAT_MS = 2000;
/** A stream end that has heard nothing this long gives up (ms). */
export const STREAM_IDLE_MS = 15000;
/** The window a reader asks for when it names none. */
export const DEFAULT_WINDOW = 32;
/** The largest window either end accepts. */
export const MAX_WINDOW = 1024;

/** Clamps a window to 1..MAX_WINDOW; anything not a number is 1. */
export function clampWindow(n: number): number {
  if (!Number.isFinite(n) || n < 1) return 1;
  return Math.min(MAX_WINDOW, Math.floor(n));
}

/** Headers of a message of one kind. */
export function kindHeaders(kind: StreamKind, extra?: BusHeaders): BusHeaders {
  return { [KIND]: kind, ...extra };
}

/** The error headers a failed reply or stream end carries. */
export function errorRecord(err: unknown): BusHeaders {
  const e = toApiError(err);
  return {
    [HEADER_ERROR_CODE]: e.status,
    // Header values are single-line.
    [HEADER_ERROR_MESSAGE]: e.message.replace(/[\r\n]+/g, " "),
  };
}

/** Throws the ApiError that error headers carry, if they carry one. */
export function throwIfErrorRecord(headers: BusHeaders): void {
  const code = headers[HEADER_ERROR_CODE];
  if (!code) return;
  const message = headers[HEADER_ERROR_MESSAGE] ?? "";
  throw new ApiError(isStatusName(code) ? code : "Unknown", message);
}
