import {
  createInbox,
  headers as natsHeaders,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  nuid,
  type Subscription,
} from "@nats-io/nats-core/internal";
import { connectTcp } from "./_deno_transport.ts";
import {
  type DaemonName,
  HEADER_ERROR_CODE,
  HEADER_ERROR_MESSAGE,
  inboxPrefix,
} from "../constants/mod.ts";
import { ApiError, isStatusName, toApiError } from "./errors.ts";

/** How a daemon reaches the node-local bus. */
export interface BusCredentials {
  /** e.g. "nats://127.5.0.2:4222". */
  url: string;
  /** The NATS user, which is the daemon's name. */
  user: DaemonName;
  /** The per-boot password. */
  pass: string;
}

/** Options for {@linkcode Bus.connect}. */
export interface BusConnectOptions {
  /** Give up the first connection after this long (ms); default 30 s. */
  connectTimeoutMs?: number;
  /** Called when the connection drops or comes back, for logs. */
  onStatus?: (event: string, data: string) => void;
}

/** Headers carried with a request or reply. */
export type BusHeaders = Record<string, string>;

/** Context handed to a unary or stream handler. */
export interface HandlerContext {
  /** The subject the request came on. */
  subject: string;
  /** Request headers (roles, caller, ...). */
  headers: BusHeaders;
  /** Aborted when the caller goes away or the bus closes. */
  signal: AbortSignal;
}

/** A unary handler: request bytes in, reply bytes out; throw ApiError to fail. */
export type UnaryHandler = (
  data: Uint8Array,
  ctx: HandlerContext,
) => Promise<Uint8Array>;

/** Context of a stream handler: `send` waits while the reader has no credit. */
export interface StreamContext extends HandlerContext {
  /** Sends one message; resolves when sent, rejects when the stream is gone. */
  send(data: Uint8Array): Promise<void>;
}

/** A server-stream handler: send messages, return to end, throw to fail. */
export type StreamHandler = (
  data: Uint8Array,
  ctx: StreamContext,
) => Promise<void>;

/** Options of a unary request. */
export interface RequestOptions {
  /** Deadline in ms (default 5000). */
  timeoutMs?: number;
  /** Headers to send. */
  headers?: BusHeaders;
  /** Cancels the wait. */
  signal?: AbortSignal;
}

/** Options of a stream opened with {@linkcode Bus.openStream}. */
export interface StreamOptions {
  /** Headers to send. */
  headers?: BusHeaders;
  /** Cancels the stream (the server is told). */
  signal?: AbortSignal;
  /** Messages the server may send ahead of the reader (default 32). */
  window?: number;
  /** Fail when the server is silent this long (ms, default 15000). */
  idleTimeoutMs?: number;
}

const KIND = "bronze-kind";
const CTL = "bronze-ctl";
const CREDIT = "bronze-credit";
const EMPTY = new Uint8Array(0);
/** How often both ends of a stream prove they are alive. */
const HEARTBEAT_MS = 2000;
/** A stream end that has heard nothing this long gives up. */
const STREAM_IDLE_MS = 15000;
const MAX_WINDOW = 1024;

/**
 * The one NATS client of every daemon: request/reply with deadlines, and
 * server streams with credit-based flow control, carrying protobuf bytes.
 */
export class Bus {
  #nc: NatsConnection;
  #name: DaemonName;
  #subs: Subscription[] = [];
  #closing = new AbortController();

  private constructor(nc: NatsConnection, name: DaemonName) {
    this.#nc = nc;
    this.#name = name;
  }

  /** Connects as one daemon's user; reconnects forever after the first connect. */
  static async connect(
    creds: BusCredentials,
    options: BusConnectOptions = {},
  ): Promise<Bus> {
    const deadline = Date.now() + (options.connectTimeoutMs ?? 30000);
    let lastErr: unknown;
    while (Date.now() < deadline) {
      try {
        const nc = await connectTcp({
          servers: creds.url,
          user: creds.user,
          pass: creds.pass,
          name: creds.user,
          inboxPrefix: inboxPrefix(creds.user),
          maxReconnectAttempts: -1,
          reconnectTimeWait: 250,
          reconnectJitter: 100,
          pingInterval: 5000,
          maxPingOut: 3,
          timeout: 2000,
        });
        const bus = new Bus(nc, creds.user);
        bus.#watchStatus(options.onStatus);
        return bus;
      } catch (err) {
        lastErr = err;
        if (isAuthError(err)) break;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    throw new Error(
      `Cannot connect to the bus at ${creds.url} as "${creds.user}"`,
      {
        cause: lastErr,
      },
    );
  }

  /** The daemon this connection belongs to. */
  get name(): DaemonName {
    return this.#name;
  }

  /** Resolves once the server has every subscription made so far (a round trip). */
  async flush(): Promise<void> {
    await this.#nc.flush();
  }

  /** Resolves when the connection is closed for good. */
  async closed(): Promise<void> {
    await this.#nc.closed();
  }

  /** Sends a request and waits for its reply; failures are ApiErrors. */
  async request(
    subject: string,
    data: Uint8Array,
    options: RequestOptions = {},
  ): Promise<Uint8Array> {
    const timeout = options.timeoutMs ?? 5000;
    const signal = options.signal;
    if (signal?.aborted) throw new ApiError("Canceled", "request canceled");
    const pending = this.#nc.request(subject, data, {
      timeout,
      headers: toNatsHeaders(options.headers),
    });
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(new ApiError("Canceled", "request canceled"));
      signal?.addEventListener("abort", onAbort, { once: true });
    });
    try {
      const msg = await (signal ? Promise.race([pending, aborted]) : pending);
      throwIfError(msg.headers);
      return msg.data;
    } catch (err) {
      throw mapRequestError(err, subject, timeout);
    } finally {
      if (onAbort) signal?.removeEventListener("abort", onAbort);
      pending.catch(() => {}); // a late failure after abort is not an unhandled rejection
    }
  }

  /** Serves unary requests on a subject until the bus closes. */
  serve(subject: string, handler: UnaryHandler): void {
    const sub = this.#nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err) return;
        void this.#handleUnary(msg, handler);
      },
    });
    this.#subs.push(sub);
  }

  async #handleUnary(msg: Msg, handler: UnaryHandler): Promise<void> {
    if (!msg.reply) return;
    let reply: Uint8Array;
    let hdrs: MsgHdrs | undefined;
    try {
      reply = await handler(msg.data, {
        subject: msg.subject,
        headers: fromNatsHeaders(msg.headers),
        signal: this.#closing.signal,
      });
    } catch (err) {
      reply = EMPTY;
      hdrs = errorHeaders(err);
    }
    try {
      msg.respond(reply, { headers: hdrs });
    } catch {
      // connection closing: the caller times out
    }
  }

  /** Serves server-streaming requests on a subject until the bus closes. */
  serveStream(subject: string, handler: StreamHandler): void {
    const sub = this.#nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err) return;
        void this.#handleStream(msg, handler);
      },
    });
    this.#subs.push(sub);
  }

  async #handleStream(msg: Msg, handler: StreamHandler): Promise<void> {
    const reply = msg.reply;
    if (!reply) return;
    const reqHeaders = fromNatsHeaders(msg.headers);
    let credit = clampWindow(Number(reqHeaders[CREDIT] ?? 32));
    const ac = new AbortController();
    const onClose = () => ac.abort(new Error("bus closing"));
    this.#closing.signal.addEventListener("abort", onClose, { once: true });
    let lastHeard = Date.now();
    let lastSent = Date.now();
    let wake: (() => void) | undefined;
    const ctl = `${this.#name}.ctl.${nuid.next()}`;
    const ctlSub = this.#nc.subscribe(ctl, {
      callback: (err, m) => {
        if (err) return;
        lastHeard = Date.now();
        const h = fromNatsHeaders(m.headers);
        if (h[KIND] === "cancel") ac.abort(new Error("canceled by reader"));
        else if (h[KIND] === "credit") {
          credit += Math.max(0, Number(h[CREDIT]) || 0);
        }
        wake?.();
      },
    });
    const publish = (data: Uint8Array, h: BusHeaders) => {
      this.#nc.publish(reply, data, { headers: toNatsHeaders(h) });
      lastSent = Date.now();
    };
    const timer = setInterval(() => {
      if (Date.now() - lastHeard > STREAM_IDLE_MS) {
        ac.abort(new Error("stream reader went silent"));
        wake?.();
      } else if (Date.now() - lastSent >= HEARTBEAT_MS) {
        try {
          publish(EMPTY, { [KIND]: "hb" });
        } catch {
          // closing
        }
      }
    }, HEARTBEAT_MS / 2);
    ac.signal.addEventListener("abort", () => wake?.(), { once: true });
    const send = async (data: Uint8Array): Promise<void> => {
      while (credit <= 0 && !ac.signal.aborted) {
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
      if (ac.signal.aborted) {
        throw new ApiError("Canceled", "stream closed by reader");
      }
      credit--;
      publish(data, { [KIND]: "data" });
    };
    try {
      publish(EMPTY, { [KIND]: "open", [CTL]: ctl });
      await handler(msg.data, {
        subject: msg.subject,
        headers: reqHeaders,
        signal: ac.signal,
        send,
      });
      if (!ac.signal.aborted) publish(EMPTY, { [KIND]: "end" });
    } catch (err) {
      if (!ac.signal.aborted) {
        try {
          publish(EMPTY, {
            [KIND]: "end",
            ...headersRecord(errorHeaders(err)),
          });
        } catch {
          // closing
        }
      }
    } finally {
      clearInterval(timer);
      this.#closing.signal.removeEventListener("abort", onClose);
      ac.abort();
      try {
        ctlSub.unsubscribe();
      } catch {
        // already closed
      }
    }
  }

  /**
   * Opens a server stream. The server may run at most `window` messages ahead
   * of this reader; breaking out of the loop or aborting cancels the stream.
   */
  async *openStream(
    subject: string,
    data: Uint8Array,
    options: StreamOptions = {},
  ): AsyncGenerator<Uint8Array, void, undefined> {
    const window = clampWindow(options.window ?? 32);
    const idleMs = options.idleTimeoutMs ?? STREAM_IDLE_MS;
    const inbox = createInbox(inboxPrefix(this.#name));
    const queue: Msg[] = [];
    let wake: (() => void) | undefined;
    let overflow = false;
    const sub = this.#nc.subscribe(inbox, {
      callback: (err, m) => {
        if (err) return;
        // hb and control messages are few; data is bounded by the window.
        if (queue.length > window + 16) overflow = true;
        else queue.push(m);
        wake?.();
      },
    });
    let ctl: string | undefined;
    let ended = false;
    const signal = options.signal;
    const onAbort = () => wake?.();
    signal?.addEventListener("abort", onAbort);
    const keepalive = setInterval(() => {
      if (ctl) this.#publishQuiet(ctl, { [KIND]: "credit", [CREDIT]: "0" });
    }, HEARTBEAT_MS);
    try {
      this.#nc.publish(subject, data, {
        reply: inbox,
        headers: toNatsHeaders({
          ...options.headers,
          [CREDIT]: String(window),
        }),
      });
      let consumed = 0;
      while (true) {
        if (signal?.aborted) throw new ApiError("Canceled", "stream canceled");
        if (overflow) {
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
            throw new ApiError(
              ctl ? "Unavailable" : "DeadlineExceeded",
              ctl
                ? `stream from ${subject} went silent for ${idleMs} ms`
                : `no reply from ${subject} within ${idleMs} ms`,
            );
          }
          continue;
        }
        const status = m.headers?.code ?? 0;
        if (status === 503) {
          throw new ApiError("Unavailable", `no responders for "${subject}"`);
        }
        const h = fromNatsHeaders(m.headers);
        switch (h[KIND]) {
          case "open":
            ctl = h[CTL];
            break;
          case "data":
            yield m.data;
            if (++consumed >= Math.max(1, window >> 1) && ctl) {
              this.#publishQuiet(ctl, {
                [KIND]: "credit",
                [CREDIT]: String(consumed),
              });
              consumed = 0;
            }
            break;
          case "end":
            ended = true;
            throwIfError(m.headers);
            return;
          default:
            break; // heartbeat
        }
      }
    } finally {
      clearInterval(keepalive);
      signal?.removeEventListener("abort", onAbort);
      if (!ended && ctl) this.#publishQuiet(ctl, { [KIND]: "cancel" });
      try {
        sub.unsubscribe();
      } catch {
        // closed
      }
    }
  }

  #publishQuiet(subject: string, h: BusHeaders): void {
    try {
      this.#nc.publish(subject, EMPTY, { headers: toNatsHeaders(h) });
    } catch {
      // connection closing
    }
  }

  /**
   * Publishes one event (no reply). Subjects outside the daemon's publish
   * permissions are dropped by nats-server, which reports them on the
   * connection's status, not here.
   */
  publish(subject: string, data: Uint8Array, headers?: BusHeaders): void {
    this.#nc.publish(subject, data, { headers: toNatsHeaders(headers) });
  }

  /**
   * Receives events published on `subject` (wildcards allowed) until
   * `signal` aborts or the bus closes.
   */
  async *subscribe(
    subject: string,
    options: { signal?: AbortSignal } = {},
  ): AsyncGenerator<{ subject: string; data: Uint8Array }, void, undefined> {
    const sub = this.#nc.subscribe(subject);
    const stop = () => sub.unsubscribe();
    options.signal?.addEventListener("abort", stop, { once: true });
    try {
      if (options.signal?.aborted) return;
      for await (const msg of sub) {
        yield { subject: msg.subject, data: msg.data };
      }
    } finally {
      options.signal?.removeEventListener("abort", stop);
      try {
        sub.unsubscribe();
      } catch {
        // closed
      }
    }
  }

  /** Stops serving, lets in-flight replies go out, and closes. */
  async close(): Promise<void> {
    this.#closing.abort();
    if (this.#nc.isClosed()) return;
    try {
      await this.#nc.drain();
    } catch {
      await this.#nc.close().catch(() => {});
    }
  }

  #watchStatus(onStatus?: (event: string, data: string) => void): void {
    if (!onStatus) return;
    (async () => {
      for await (const s of this.#nc.status()) {
        const data = "server" in s ? String(s.server) : "";
        onStatus(s.type, data);
      }
    })().catch(() => {});
  }
}

function clampWindow(n: number): number {
  if (!Number.isFinite(n) || n < 1) return 1;
  return Math.min(MAX_WINDOW, Math.floor(n));
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

function toNatsHeaders(h?: BusHeaders): MsgHdrs | undefined {
  if (!h || Object.keys(h).length === 0) return undefined;
  const out = natsHeaders();
  for (const [k, v] of Object.entries(h)) out.set(k, v);
  return out;
}

function fromNatsHeaders(h?: MsgHdrs): BusHeaders {
  const out: BusHeaders = {};
  if (!h) return out;
  for (const k of h.keys()) out[k.toLowerCase()] = h.get(k);
  return out;
}

function headersRecord(h: MsgHdrs): BusHeaders {
  return fromNatsHeaders(h);
}

function errorHeaders(err: unknown): MsgHdrs {
  const e = toApiError(err);
  const h = natsHeaders();
  h.set(HEADER_ERROR_CODE, e.status);
  // Header values are single-line.
  h.set(HEADER_ERROR_MESSAGE, e.message.replace(/[\r\n]+/g, " "));
  return h;
}

function throwIfError(h?: MsgHdrs): void {
  const code = h?.get(HEADER_ERROR_CODE);
  if (!code) return;
  const message = h?.get(HEADER_ERROR_MESSAGE) ?? "";
  throw new ApiError(isStatusName(code) ? code : "Unknown", message);
}

function isAuthError(err: unknown): boolean {
  return err instanceof Error && /authorization/i.test(err.message);
}

function mapRequestError(
  err: unknown,
  subject: string,
  timeout: number,
): ApiError {
  if (err instanceof ApiError) return err;
  const name = err instanceof Error ? err.name : "";
  const msg = err instanceof Error ? err.message : String(err);
  const cause = err instanceof Error ? err.cause : undefined;
  const causeName = cause instanceof Error ? cause.name : "";
  if (/NoResponders/i.test(name + causeName) || /no responders/i.test(msg)) {
    return new ApiError("Unavailable", `no responders for "${subject}"`, {
      cause: err,
    });
  }
  if (/Timeout/i.test(name + causeName) || /timeout/i.test(msg)) {
    return new ApiError(
      "DeadlineExceeded",
      `no reply from "${subject}" within ${timeout} ms`,
      { cause: err },
    );
  }
  if (/permission/i.test(msg)) {
    return new ApiError(
      "PermissionDenied",
      `bus refused "${subject}": ${msg}`,
      { cause: err },
    );
  }
  return new ApiError(
    "Unavailable",
    `bus request to "${subject}" failed: ${msg}`,
    {
      cause: err,
    },
  );
}
