import {
  createInbox,
  headers as natsHeaders,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  nuid,
  type Subscription,
} from "@nats-io/nats-core";
import { connectTcp } from "./_deno_transport.ts";
import { readStream } from "./_stream_client.ts";
import { serveStream } from "./_stream_server.ts";
import type { StreamTransport } from "./_stream_wire.ts";
import {
  type DaemonName,
  HEADER_ERROR_CODE,
  HEADER_ERROR_MESSAGE,
  inboxPrefix,
} from "../constants/mod.ts";
import { ApiError, isStatusName, toApiError } from "../api_error/mod.ts";

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

/** Context handed to a unary handler. */
export interface UnaryContext extends HandlerContext {
  /**
   * Registers work to run once the handler's reply has been published and
   * the server has it (a flush), so an action the reply announces (a stop,
   * a restart) cannot overtake it. Runs only after a successful reply, in
   * the order registered; `fn` handles its own errors (a rejection is
   * dropped).
   */
  afterReply(fn: () => void | Promise<void>): void;
}

/** A unary handler: request bytes in, reply bytes out; throw ApiError to fail. */
export type UnaryHandler = (
  data: Uint8Array,
  ctx: UnaryContext,
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

const EMPTY = new Uint8Array(0);

/**
 * The one NATS client of every daemon: request/reply with deadlines, and
 * server streams with credit-based flow control, carrying protobuf bytes.
 */
export class Bus {
  #nc: NatsConnection;
  #name: DaemonName;
  #subs: Subscription[] = [];
  #closing = new AbortController();
  #streams: StreamTransport = {
    publish: (subject, data, { headers, reply }) =>
      this.#nc.publish(subject, data, {
        reply,
        headers: toNatsHeaders(headers),
      }),
    subscribe: (subject, onMessage) => {
      const sub = this.#nc.subscribe(subject, {
        callback: (err, m) => {
          if (err) return;
          onMessage({
            data: m.data,
            headers: fromNatsHeaders(m.headers),
            status: m.headers?.code ?? 0,
          });
        },
      });
      return () => {
        try {
          sub.unsubscribe();
        } catch {
          // already closed
        }
      };
    },
  };

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
    const after: Array<() => void | Promise<void>> = [];
    try {
      reply = await handler(msg.data, {
        subject: msg.subject,
        headers: fromNatsHeaders(msg.headers),
        signal: this.#closing.signal,
        afterReply: (fn) => void after.push(fn),
      });
    } catch (err) {
      reply = EMPTY;
      hdrs = errorHeaders(err);
      after.length = 0;
    }
    try {
      msg.respond(reply, { headers: hdrs });
    } catch {
      // connection closing: the caller times out
    }
    if (after.length > 0) await this.#runAfterReply(after);
  }

  /** Runs a reply's deferred work once the server has the reply. */
  async #runAfterReply(
    after: ReadonlyArray<() => void | Promise<void>>,
  ): Promise<void> {
    // The server has every message published before its PONG.
    await this.#nc.flush().catch(() => {});
    for (const fn of after) {
      try {
        await fn();
      } catch {
        // fn reports its own failures
      }
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
    if (!msg.reply) return;
    await serveStream(this.#streams, {
      subject: msg.subject,
      data: msg.data,
      headers: fromNatsHeaders(msg.headers),
      reply: msg.reply,
    }, {
      handler,
      control: `${this.#name}.ctl.${nuid.next()}`,
      signal: this.#closing.signal,
    });
  }

  /**
   * Opens a server stream. The server may run at most `window` messages ahead
   * of this reader; breaking out of the loop or aborting cancels the stream.
   */
  openStream(
    subject: string,
    data: Uint8Array,
    options: StreamOptions = {},
  ): AsyncGenerator<Uint8Array, void, undefined> {
    const inbox = createInbox(inboxPrefix(this.#name));
    return readStream(this.#streams, { subject, data, inbox }, {
      closing: this.#closing.signal,
      ...options,
    });
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
