/**
 * The server half of the bus's stream protocol (see `_stream_wire.ts`): runs
 * one stream handler for one request, sending only as far as the reader's
 * credit goes, with heartbeats, and stopping when the reader cancels or goes
 * silent.
 * @module
 */
import type { BusHeaders, StreamHandler } from "./bus.ts";
import { ApiError } from "../api_error/mod.ts";
import {
  clampWindow,
  CREDIT,
  CTL,
  DEFAULT_WINDOW,
  EMPTY,
  errorRecord,
  HEARTBEAT_MS,
  KIND,
  kindHeaders,
  STREAM_IDLE_MS,
  type StreamMessage,
  type StreamTransport,
} from "./_stream_wire.ts";

/** One stream request as the server receives it. */
export interface StreamRequest {
  /** The subject it came on. */
  subject: string;
  /** The request bytes. */
  data: Uint8Array;
  /** Its headers, names in lower case (the window is `bronze-credit`). */
  headers: BusHeaders;
  /** The reader's inbox, where every message of the stream goes. */
  reply: string;
}

/** Options of {@linkcode serveStream}. */
export interface StreamServeOptions {
  /** Runs the stream. */
  handler: StreamHandler;
  /** A subject unique to this stream, for the reader's credit and cancel. */
  control: string;
  /** Aborted when the bus closes. */
  signal: AbortSignal;
  /** Heartbeat period (ms); default {@linkcode HEARTBEAT_MS}. */
  heartbeatMs?: number;
  /** Give up on a reader silent this long (ms); default {@linkcode STREAM_IDLE_MS}. */
  idleMs?: number;
}

/**
 * Serves one stream request to its end: the handler's return ends the
 * stream, its throw ends it with the error, the reader's cancel or silence
 * aborts the handler's signal. Never rejects.
 */
export async function serveStream(
  transport: StreamTransport,
  request: StreamRequest,
  options: StreamServeOptions,
): Promise<void> {
  const heartbeatMs = options.heartbeatMs ?? HEARTBEAT_MS;
  const idleMs = options.idleMs ?? STREAM_IDLE_MS;
  const stream = new ServerStream(
    transport,
    request.reply,
    clampWindow(Number(request.headers[CREDIT] ?? DEFAULT_WINDOW)),
  );
  const onClose = () => stream.abort(new Error("bus closing"));
  options.signal.addEventListener("abort", onClose, { once: true });
  const unsubscribe = transport.subscribe(
    options.control,
    (m) => stream.onControl(m),
  );
  const timer = setInterval(
    () => stream.tick(idleMs, heartbeatMs),
    heartbeatMs / 2,
  );
  try {
    stream.publish(EMPTY, kindHeaders("open", { [CTL]: options.control }));
    await options.handler(request.data, {
      subject: request.subject,
      headers: request.headers,
      signal: stream.signal,
      send: (data) => stream.send(data),
    });
    if (!stream.signal.aborted) stream.publish(EMPTY, kindHeaders("end"));
  } catch (err) {
    if (!stream.signal.aborted) {
      try {
        stream.publish(EMPTY, kindHeaders("end", errorRecord(err)));
      } catch {
        // closing
      }
    }
  } finally {
    clearInterval(timer);
    options.signal.removeEventListener("abort", onClose);
    stream.abort();
    unsubscribe();
  }
}

/** One stream's state on the server: credit, liveness, the waiting sender. */
class ServerStream {
  #transport: StreamTransport;
  #reply: string;
  #credit: number;
  #ac = new AbortController();
  #lastHeard = Date.now();
  #lastSent = Date.now();
  #wake: (() => void) | undefined;

  constructor(transport: StreamTransport, reply: string, credit: number) {
    this.#transport = transport;
    this.#reply = reply;
    this.#credit = credit;
    this.#ac.signal.addEventListener("abort", () => this.#wake?.(), {
      once: true,
    });
  }

  /** The handler's signal. */
  get signal(): AbortSignal {
    return this.#ac.signal;
  }

  abort(reason?: Error): void {
    this.#ac.abort(reason);
  }

  /** A message from the reader: credit, cancel, or a keepalive (credit 0). */
  onControl(m: StreamMessage): void {
    this.#lastHeard = Date.now();
    const kind = m.headers[KIND];
    if (kind === "cancel") this.#ac.abort(new Error("canceled by reader"));
    else if (kind === "credit") {
      this.#credit += Math.max(0, Number(m.headers[CREDIT]) || 0);
    }
    this.#wake?.();
  }

  /** Every half heartbeat: give up on a silent reader, or prove we are alive. */
  tick(idleMs: number, heartbeatMs: number): void {
    if (Date.now() - this.#lastHeard > idleMs) {
      this.#ac.abort(new Error("stream reader went silent"));
      this.#wake?.();
    } else if (Date.now() - this.#lastSent >= heartbeatMs) {
      try {
        this.publish(EMPTY, kindHeaders("hb"));
      } catch {
        // closing
      }
    }
  }

  publish(data: Uint8Array, headers: BusHeaders): void {
    this.#transport.publish(this.#reply, data, { headers });
    this.#lastSent = Date.now();
  }

  /** Sends one data message once the reader has credit for it. */
  async send(data: Uint8Array): Promise<void> {
    while (this.#credit <= 0 && !this.#ac.signal.aborted) {
      await new Promise<void>((r) => (this.#wake = r));
      this.#wake = undefined;
    }
    if (this.#ac.signal.aborted) {
      throw new ApiError("Canceled", "stream closed by reader");
    }
    this.#credit--;
    this.publish(data, kindHeaders("data"));
  }
}
