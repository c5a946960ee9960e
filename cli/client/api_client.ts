/**
 * osctl's API client: dials the context's endpoints with mTLS (the client
 * certificate from the client config), sends the target nodes as `nodes`
 * metadata so apid fans out and tags every answer, and fails over to the next
 * endpoint when one cannot be reached.
 * @module
 */
import { ApiError } from "../../lib/api_error/mod.ts";
import { APID_PORT, METADATA_NODES } from "../../lib/constants/mod.ts";
import { parseCertificate } from "../../lib/pki/mod.ts";
import { type ClientMethodLike, TlsChannel } from "../../lib/grpc/mod.ts";
import type { TlsMaterial } from "../../lib/certdir/mod.ts";
import {
  EndpointError,
  isRefusedHandshake,
  isUntrustedServer,
} from "./errors.ts";

/** Where and as whom osctl calls. */
export interface ApiClientOptions {
  /** Endpoints to dial: "host" or "host:port" (port 50000 by default). */
  endpoints: readonly string[];
  /** Target nodes; empty means the endpoint's own node. */
  nodes: readonly string[];
  /** CA, client certificate and key (PEM). */
  tls: TlsMaterial;
  /** The client config context these come from, named in TLS errors. */
  context?: string;
}

/** Per-call options. */
export interface ApiCallOptions {
  /** Cancels the call (Ctrl-C). */
  signal?: AbortSignal;
  /** Deadline of a unary call in ms (default 30 s). */
  timeoutMs?: number;
  /** Send targets as single-target `node` instead of `nodes`. */
  singleNode?: boolean;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** A client of the Bronze API through one of the context's endpoints. */
export class ApiClient implements Disposable {
  #endpoints: string[];
  #nodes: string[];
  #tls: TlsMaterial;
  #context: string | undefined;
  #channels = new Map<string, TlsChannel>();

  /** Makes a client; nothing is dialed before the first call. */
  constructor(options: ApiClientOptions) {
    if (options.endpoints.length === 0) {
      throw new Error(
        "no endpoints: give --endpoints or set them in the client config",
      );
    }
    this.#endpoints = options.endpoints.map(withPort);
    this.#nodes = [...options.nodes];
    this.#tls = options.tls;
    this.#context = options.context;
  }

  /** The target nodes (empty: the endpoint's node). */
  get nodes(): readonly string[] {
    return this.#nodes;
  }

  /** The name of the node that answers when no target is given. */
  get defaultNode(): string {
    return hostOf(this.#endpoints[0]);
  }

  /** Calls a unary method on every target; the reply merges their answers. */
  async unary<Req, Res>(
    method: ClientMethodLike<Req, Res>,
    request: Req,
    options: ApiCallOptions = {},
  ): Promise<Res> {
    let last: unknown;
    for (const endpoint of this.#endpoints) {
      try {
        return await this.#channel(endpoint).unary(method, request, {
          metadata: this.#metadata(options),
          timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
          signal: options.signal,
        });
      } catch (err) {
        last = await this.#explain(err, endpoint);
        if (!unreachable(err)) throw last;
      }
    }
    throw last;
  }

  /**
   * Opens a server stream on every target; messages arrive merged and
   * tagged. Breaking out or aborting `signal` cancels it everywhere.
   */
  async *stream<Req, Res>(
    method: ClientMethodLike<Req, Res>,
    request: Req,
    options: ApiCallOptions = {},
  ): AsyncGenerator<Res, void, undefined> {
    for (let i = 0; i < this.#endpoints.length; i++) {
      let started = false;
      try {
        for await (
          const msg of this.#channel(this.#endpoints[i]).stream(
            method,
            request,
            { metadata: this.#metadata(options), signal: options.signal },
          )
        ) {
          started = true;
          yield msg;
        }
        return;
      } catch (err) {
        if (started || !unreachable(err) || i === this.#endpoints.length - 1) {
          throw await this.#explain(err, this.#endpoints[i]);
        }
      }
    }
  }

  /** Closes every channel. */
  close(): void {
    for (const ch of this.#channels.values()) ch.close();
    this.#channels.clear();
  }

  /** Closes every channel (`using client = new ApiClient(...)`). */
  [Symbol.dispose](): void {
    this.close();
  }

  /** A TLS failure said in the operator's terms; other errors as they are. */
  async #explain(err: unknown, endpoint: string): Promise<unknown> {
    const context = this.#context === undefined
      ? "the client config"
      : `context "${this.#context}"`;
    if (isUntrustedServer(err)) {
      return new EndpointError(
        `the certificate of endpoint ${endpoint} is not from the CA of ${context}`,
        { cause: err },
      );
    }
    if (unreachable(err) && isRefusedHandshake(err)) {
      return new EndpointError(
        `endpoint ${endpoint} closed the connection while setting it up: it does not accept the client certificate of ${context} (another cluster's CA, or expired)`,
        { cause: err },
      );
    }
    const late = err instanceof ApiError && err.status === "DeadlineExceeded"
      ? /^Deadline exceeded after ([\d.]+)s/.exec(err.message)
      : null;
    if (late) {
      return new EndpointError(
        `endpoint ${endpoint} did not answer within ${
          Math.round(Number(late[1]))
        } s`,
        { cause: err },
      );
    }
    // Only a refusal by role says which roles the certificate has; other
    // refusals (a worker that does not forward, a target not allowed) are
    // about something else.
    if (
      err instanceof ApiError && err.status === "PermissionDenied" &&
      err.message.startsWith("not authorized")
    ) {
      let roles: string[] | undefined;
      try {
        roles = (await parseCertificate(this.#tls.cert)).subject.organizations;
      } catch {
        // An unreadable certificate would not have been accepted: keep the error.
      }
      if (roles) {
        return new ApiError(
          err.status,
          `${err.message} (the client certificate of ${context} has ${
            roles.length ? roles.join(", ") : "no role"
          })`,
          { cause: err },
        );
      }
    }
    // A connection lost or refused says so without naming whom ("Connection
    // dropped"): name the endpoint, so an outage reads as whose it is.
    if (
      err instanceof ApiError && err.status === "Unavailable" &&
      !err.message.includes(hostOf(endpoint))
    ) {
      return new ApiError(
        err.status,
        `endpoint ${endpoint}: ${err.message}`,
        { cause: err },
      );
    }
    return err;
  }

  #metadata(options: ApiCallOptions): Record<string, string | string[]> {
    if (this.#nodes.length === 0) return {};
    if (options.singleNode) {
      if (this.#nodes.length !== 1) {
        throw new ApiError(
          "InvalidArgument",
          `this command takes a single node, got ${this.#nodes.length}: ${
            this.#nodes.join(", ")
          }; pick one with -n NODE`,
        );
      }
      return { node: this.#nodes[0] };
    }
    return { [METADATA_NODES]: [...this.#nodes] };
  }

  #channel(endpoint: string): TlsChannel {
    let ch = this.#channels.get(endpoint);
    if (!ch) {
      ch = new TlsChannel(endpoint, this.#tls, {
        channelOptions: {
          "grpc.max_receive_message_length": 16 * 1024 * 1024,
          "grpc.initial_reconnect_backoff_ms": 250,
          "grpc.max_reconnect_backoff_ms": 1000,
        },
      });
      this.#channels.set(endpoint, ch);
    }
    return ch;
  }
}

/** A connection that never got established (safe to retry elsewhere). */
function unreachable(err: unknown): boolean {
  return err instanceof ApiError && err.status === "Unavailable" &&
    /No connection established/.test(err.message);
}

function withPort(endpoint: string): string {
  const e = endpoint.trim();
  if (/^\[.*\]:\d+$/.test(e) || /^[^:]+:\d+$/.test(e)) return e;
  if (e.includes(":")) return `[${e.replace(/^\[|\]$/g, "")}]:${APID_PORT}`;
  return `${e}:${APID_PORT}`;
}

function hostOf(endpoint: string): string {
  const m = /^\[(.*)\]:\d+$/.exec(endpoint) ?? /^(.*):\d+$/.exec(endpoint);
  return m ? m[1] : endpoint;
}
