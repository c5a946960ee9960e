/**
 * The client half of the bus's stream protocol (see `_stream_wire.ts`):
 * opens a stream, yields its data messages in order, grants credit as the
 * reader consumes them, keeps the server's idle timer fed, and cancels the
 * stream when the reader stops early.
 * @module
 */
import type { BusHeaders } from "./bus.ts";
import { ApiError } from "../api_error/mod.ts";
import {
  clampWindow,
  CREDIT,
  CTL,
  DEFAULT_WINDOW,
  EMPTY,
  HEARTBEAT_MS,
  KIND,
  kindHeaders,
  STREAM_IDLE_MS,
  type StreamMessage,
  type StreamTransport,
  throwIfErrorRecord,
} from "./_stream_wire.ts";

/** What a stream is opened with. */
export interface StreamCall {
  /** The method's subject. */
  subject: string;
  /** The request bytes. */
  data: Uint8Array;
  /** A fresh inbox of this connection, where the server answers. */
  inbox: string;
}

/** Options of {@linkcode readStream}. */
export interface StreamReadOptions {
  /** Headers to send. */
  headers?: BusHeaders;
  /** Cancels the stream (the server is told). */
  signal?: AbortSignal;
  /** Messages the server may send ahead of the reader (default 32). */
  window?: number;
  /** Fail when the server is silent this long (ms, default 15000). */
  idleTimeoutMs?: number;
  /** Keepalive period towards the server (ms); default {@linkcode HEARTBEAT_MS}. */
  heartbeatMs?: number;
  /** Aborted when the connection closes (ends a wait to send a cancel). */
  closing?: AbortSignal;
}

/** Messages beyond the window a reader queues (heartbeats, open, end). */
const QUEUE_SLACK = 16;
/** How long a reader that left before "open" waits for it to cancel. */
const CANCEL_LINGER_MS = 5000;

/**
 * Opens a server stream over `transport` and yields its messages. The server
 * may run at most `window` messages ahead; breaking out of the loop or
 * aborting cancels the stream. Failures are ApiErrors.
 */
export async function* readStream(
  transport: StreamTransport,
  call: StreamCall,
  options: StreamReadOptions = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  const { subject } = call;
  const window = clampWindow(options.window ?? DEFAULT_WINDOW);
  const idleMs = options.idleTimeoutMs ?? STREAM_IDLE_MS;
  const queue: StreamMessage[] = [];
  let wake: (() => void) | undefined;
  let overflow = false;
  if (options.signal?.aborted) {
    throw new ApiError("Canceled", "stream canceled");
  }
  const unsubscribe = transport.subscribe(call.inbox, (m) => {
    // hb and control messages are few; data is bounded by the window.
    if (queue.length > window + QUEUE_SLACK) overflow = true;
    else queue.push(m);
    wake?.();
  });
  let ctl: string | undefined;
  let ended = false;
  let sent = false;
  let failed = false;
  const signal = options.signal;
  const onAbort = () => wake?.();
  signal?.addEventListener("abort", onAbort);
  const control = (headers: BusHeaders) => {
    if (!ctl) return;
    try {
      transport.publish(ctl, EMPTY, { headers });
    } catch {
      // connection closing
    }
  };
  const keepalive = setInterval(
    () => control(kindHeaders("credit", { [CREDIT]: "0" })),
    options.heartbeatMs ?? HEARTBEAT_MS,
  );
  try {
    transport.publish(subject, call.data, {
      reply: call.inbox,
      headers: { ...options.headers, [CREDIT]: String(window) },
    });
    sent = true;
    let consumed = 0;
    while (true) {
      if (signal?.aborted) throw new ApiError("Canceled", "stream canceled");
      if (overflow) {
        failed = true;
        throw new ApiError(
          "Internal",
          `stream from ${subject} overran its window`,
        );
      }
      const m = queue.shift();
      if (!m) {
        const timedOut = await waitFor((r) => (wake = r), idleMs);
        wake = undefined;
        if (timedOut && queue.length === 0 && !signal?.aborted) {
          failed = true;
          throw new ApiError(
            ctl ? "Unavailable" : "DeadlineExceeded",
            ctl
              ? `stream from ${subject} went silent for ${idleMs} ms`
              : `no reply from ${subject} within ${idleMs} ms`,
          );
        }
        continue;
      }
      if (m.status === 503) {
        failed = true;
        throw new ApiError("Unavailable", `no responders for "${subject}"`);
      }
      switch (m.headers[KIND]) {
        case "open":
          ctl = m.headers[CTL];
          break;
        case "data":
          yield m.data;
          if (++consumed >= Math.max(1, window >> 1) && ctl) {
            control(kindHeaders("credit", { [CREDIT]: String(consumed) }));
            consumed = 0;
          }
          break;
        case "end":
          ended = true;
          throwIfErrorRecord(m.headers);
          return;
        default:
          break; // heartbeat
      }
    }
  } finally {
    clearInterval(keepalive);
    signal?.removeEventListener("abort", onAbort);
    ctl ??= openedCtl(queue);
    if (!ended && ctl) control(kindHeaders("cancel"));
    if (sent && !ended && !failed && !ctl) {
      // Left before the server's "open" arrived: wait for it (briefly) to
      // send the cancel, or the server would stream into the void until it
      // noticed the silence (STREAM_IDLE_MS), holding what it serves.
      cancelWhenOpened(queue, (w) => (wake = w), {
        cancel: (c) => {
          ctl = c;
          control(kindHeaders("cancel"));
        },
        unsubscribe,
        closing: options.closing,
      });
    } else {
      unsubscribe();
    }
  }
}

/** Waits for a late "open" (or an end) in `queue`, then cancels and stops. */
function cancelWhenOpened(
  queue: StreamMessage[],
  onMessage: (wake: () => void) => void,
  io: {
    cancel(ctl: string): void;
    unsubscribe(): void;
    closing?: AbortSignal;
  },
): void {
  const stop = () => {
    clearTimeout(timer);
    io.closing?.removeEventListener("abort", stop);
    onMessage(() => {});
    io.unsubscribe();
  };
  const timer = setTimeout(stop, CANCEL_LINGER_MS);
  io.closing?.addEventListener("abort", stop, { once: true });
  const check = () => {
    const ctl = openedCtl(queue);
    if (ctl) io.cancel(ctl);
    const over = ctl !== undefined ||
      queue.some((m) => m.status === 503 || m.headers[KIND] === "end");
    queue.length = 0;
    if (over) stop();
  };
  onMessage(check);
  if (io.closing?.aborted) stop();
  else check();
}

/** The control subject of an "open" waiting in `queue`, if any. */
function openedCtl(queue: readonly StreamMessage[]): string | undefined {
  for (const m of queue) {
    if (m.headers[KIND] === "open" && m.headers[CTL]) return m.headers[CTL];
  }
  return undefined;
}

/** Waits until `arm`'s callback fires or `ms` pass; resolves true on timeout. */
function waitFor(
  arm: (wake: () => void) => void,
  ms: number,
): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(true), ms);
    arm(() => {
      clearTimeout(t);
      resolve(false);
    });
  });
}
