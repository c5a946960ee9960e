/**
 * A small etcd v3 client over etcd's JSON gRPC gateway (`/v3/...` on the
 * client port, etcd 3.4), with mutual TLS through node:https. The gateway
 * speaks the v3 API's messages as JSON (64-bit numbers as decimal strings),
 * so no protobuf codecs of etcd's are needed; every answer is checked before
 * it is believed.
 * @module
 */
import https from "node:https";

/** The client's TLS material, PEM. */
export interface EtcdTls {
  /** The etcd CA certificate. */
  ca: string;
  /** The client certificate (clientAuth). */
  cert: string;
  /** Its key (secret). */
  key: string;
}

/** Options for {@linkcode EtcdClient}. */
export interface EtcdClientOptions {
  /** Client URLs, "https://host:port", tried in order. */
  endpoints: readonly string[];
  /** TLS material, or a function giving the current one (rotation). */
  tls: EtcdTls | (() => EtcdTls);
  /** Per-request timeout (ms, default 5000). */
  timeoutMs?: number;
  /**
   * Keep connections open between calls (default false: each call dials,
   * so a renewed client certificate is used at once). close() ends them.
   */
  keepAlive?: boolean;
}

/** Options of one call. */
export interface EtcdCallOptions {
  /** Cancels the call. */
  signal?: AbortSignal;
  /** Only this endpoint (a URL of the client's or any other). */
  endpoint?: string;
  /** Timeout of this call (ms). */
  timeoutMs?: number;
}

/** One member of the etcd cluster. */
export interface EtcdMemberInfo {
  /** Member id, decimal (uint64). */
  id: string;
  /** Member name (the node's hostname); empty until a new member started. */
  name: string;
  /** Peer URLs. */
  peerUrls: string[];
  /** Client URLs (empty until a new member started). */
  clientUrls: string[];
  /** Whether it is a non-voting learner. */
  isLearner: boolean;
}

/** A member's status (Maintenance.Status). */
export interface EtcdStatusInfo {
  /** The answering member's id, decimal. */
  memberId: string;
  /** etcd's version. */
  version: string;
  /** Database size (bytes). */
  dbSize: number;
  /** Database size in use (bytes). */
  dbSizeInUse: number;
  /** The leader's member id, decimal ("0" when there is none). */
  leader: string;
  /** Raft index. */
  raftIndex: string;
  /** Raft term. */
  raftTerm: string;
  /** Raft applied index. */
  raftAppliedIndex: string;
  /** Errors etcd reports (alarms). */
  errors: string[];
  /** Whether the answering member is a learner. */
  isLearner: boolean;
}

/** One alarm of a member. */
export interface EtcdAlarmInfo {
  /** The member's id, decimal. */
  memberId: string;
  /** "NOSPACE" or "CORRUPT". */
  alarm: string;
}

/** An etcd endpoint refused or failed a call; `code` is the gRPC code. */
export class EtcdError extends Error {
  /** gRPC status code etcd answered with (0 when none: a transport error). */
  readonly code: number;
  /** The endpoint that answered. */
  readonly endpoint: string;

  /** Makes an error naming the endpoint. */
  constructor(
    message: string,
    details: { code: number; endpoint: string },
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "EtcdError";
    this.code = details.code;
    this.endpoint = details.endpoint;
  }
}

const DEFAULT_TIMEOUT_MS = 5000;
/** What etcd 3.4 answers a learner cannot serve. */
const LEARNER_REFUSAL = "rpc not supported for learner";
/** Largest answer read from etcd (bytes); member lists and statuses are small. */
const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A uint64 as the gateway gives it (a decimal string; absent means 0). */
function u64(v: unknown, what: string): string {
  if (v === undefined) return "0";
  if (typeof v === "string" && /^\d{1,20}$/.test(v)) return v;
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) {
    return String(v);
  }
  throw new Error(`${what} is not a uint64: ${JSON.stringify(v)}`);
}

function num(v: unknown, what: string): number {
  const n = Number(u64(v, what));
  if (!Number.isSafeInteger(n)) throw new Error(`${what} is too large`);
  return n;
}

function strings(v: unknown, what: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((s) => typeof s !== "string")) {
    throw new Error(`${what} is not a list of strings`);
  }
  return v as string[];
}

function member(v: unknown): EtcdMemberInfo {
  if (!isObject(v)) throw new Error("a member is not an object");
  return {
    id: u64(v.ID, "member ID"),
    name: typeof v.name === "string" ? v.name : "",
    peerUrls: strings(v.peerURLs, "member peerURLs"),
    clientUrls: strings(v.clientURLs, "member clientURLs"),
    isLearner: v.isLearner === true,
  };
}

function members(v: unknown): EtcdMemberInfo[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new Error("members is not a list");
  return v.map(member);
}

/** The URL of an endpoint, checked: https, a host, a port, nothing else. */
export function parseEtcdEndpoint(endpoint: string): URL {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new Error(
      `Invalid etcd endpoint ${JSON.stringify(endpoint)}: not a URL`,
    );
  }
  if (url.protocol !== "https:" || !url.port || url.pathname !== "/") {
    throw new Error(
      `Invalid etcd endpoint ${
        JSON.stringify(endpoint)
      }: want https://host:port`,
    );
  }
  return url;
}

/** A member id as talosctl prints it: 16 hex digits. */
export function memberIdHex(id: string): string {
  return BigInt(id).toString(16).padStart(16, "0");
}

/** An etcd v3 client over the JSON gateway; see the module doc. */
export class EtcdClient {
  #endpoints: URL[];
  #tls: () => EtcdTls;
  #timeoutMs: number;
  #agent: https.Agent | undefined;

  /** Checks the endpoints; nothing is dialled until a call. */
  constructor(options: EtcdClientOptions) {
    if (options.endpoints.length === 0) {
      throw new Error("Cannot make an etcd client: no endpoints");
    }
    this.#endpoints = options.endpoints.map(parseEtcdEndpoint);
    const tls = options.tls;
    this.#tls = typeof tls === "function" ? tls : () => tls;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (options.keepAlive) {
      this.#agent = new https.Agent({ keepAlive: true, maxSockets: 64 });
    }
  }

  /** Closes kept-alive connections. */
  close(): void {
    this.#agent?.destroy();
  }

  /** The endpoints, as given. */
  get endpoints(): string[] {
    return this.#endpoints.map((u) => u.origin);
  }

  /** Resolves when the endpoint's /health says healthy; throws why not. */
  async health(options: EtcdCallOptions = {}): Promise<void> {
    const res = await this.#call("GET", "/health", undefined, options);
    if (res.health !== "true" && res.health !== true) {
      const reason = typeof res.reason === "string" && res.reason
        ? `: ${res.reason}`
        : "";
      throw new Error(`etcd reports itself unhealthy${reason}`);
    }
  }

  /** Every member of the cluster (linearizable: needs a leader). */
  async memberList(options: EtcdCallOptions = {}): Promise<EtcdMemberInfo[]> {
    const res = await this.#call("POST", "/v3/cluster/member/list", {
      linearizable: true,
    }, options);
    return members(res.members);
  }

  /** Adds a member (a learner unless told otherwise); its id and the list. */
  async memberAdd(
    peerUrls: readonly string[],
    options: EtcdCallOptions & { learner?: boolean } = {},
  ): Promise<{ member: EtcdMemberInfo; members: EtcdMemberInfo[] }> {
    const res = await this.#call("POST", "/v3/cluster/member/add", {
      peerURLs: peerUrls,
      isLearner: options.learner ?? true,
    }, options);
    return { member: member(res.member), members: members(res.members) };
  }

  /** Promotes a learner that has caught up with the leader. */
  async memberPromote(
    id: string,
    options: EtcdCallOptions = {},
  ): Promise<void> {
    await this.#call("POST", "/v3/cluster/member/promote", {
      ID: u64(id, "member id"),
    }, options);
  }

  /** Removes a member. */
  async memberRemove(id: string, options: EtcdCallOptions = {}): Promise<void> {
    await this.#call("POST", "/v3/cluster/member/remove", {
      ID: u64(id, "member id"),
    }, options);
  }

  /** The status of the member behind the (first answering) endpoint. */
  async status(options: EtcdCallOptions = {}): Promise<EtcdStatusInfo> {
    const res = await this.#call("POST", "/v3/maintenance/status", {}, options);
    const header = isObject(res.header) ? res.header : {};
    return {
      memberId: u64(header.member_id, "status member_id"),
      version: typeof res.version === "string" ? res.version : "",
      dbSize: num(res.dbSize, "status dbSize"),
      dbSizeInUse: num(res.dbSizeInUse, "status dbSizeInUse"),
      leader: u64(res.leader, "status leader"),
      raftIndex: u64(res.raftIndex, "status raftIndex"),
      raftTerm: u64(res.raftTerm, "status raftTerm"),
      raftAppliedIndex: u64(res.raftAppliedIndex, "status raftAppliedIndex"),
      errors: strings(res.errors, "status errors"),
      isLearner: res.isLearner === true,
    };
  }

  /** Active alarms of the cluster. */
  async alarmList(options: EtcdCallOptions = {}): Promise<EtcdAlarmInfo[]> {
    return alarms(
      await this.#call("POST", "/v3/maintenance/alarm", {
        action: "GET",
      }, options),
    );
  }

  /** Disarms every active alarm; returns those disarmed. */
  async alarmDisarm(options: EtcdCallOptions = {}): Promise<EtcdAlarmInfo[]> {
    const active = await this.alarmList(options);
    const out: EtcdAlarmInfo[] = [];
    for (const a of active) {
      out.push(
        ...alarms(
          await this.#call("POST", "/v3/maintenance/alarm", {
            action: "DEACTIVATE",
            memberID: a.memberId,
            alarm: a.alarm,
          }, options),
        ),
      );
    }
    return out;
  }

  /** Defragments the member behind the endpoint. */
  async defragment(options: EtcdCallOptions = {}): Promise<void> {
    await this.#call("POST", "/v3/maintenance/defragment", {}, {
      timeoutMs: 60_000,
      ...options,
    });
  }

  /** Hands leadership to another member (ask the leader). */
  async moveLeader(
    targetId: string,
    options: EtcdCallOptions = {},
  ): Promise<void> {
    await this.#call("POST", "/v3/maintenance/transfer-leadership", {
      targetID: u64(targetId, "target member id"),
    }, options);
  }

  /**
   * A snapshot of the member's database (Maintenance.Snapshot), in chunks as
   * etcd sends them; the whole is a bbolt file `etcdctl snapshot status`
   * reads. Throws when etcd reports an error mid-stream or it ends early.
   */
  async *snapshot(
    options: EtcdCallOptions = {},
  ): AsyncGenerator<Uint8Array, void, undefined> {
    const url = options.endpoint
      ? parseEtcdEndpoint(options.endpoint)
      : this.#endpoints[0];
    const endpoint = url.origin;
    const tls = this.#tls();
    const payload = "{}";
    const res = await new Promise<import("node:http").IncomingMessage>(
      (resolve, reject) => {
        const req = https.request({
          host: url.hostname.replace(/^\[|\]$/g, ""),
          port: Number(url.port),
          path: "/v3/maintenance/snapshot",
          method: "POST",
          ca: tls.ca,
          cert: tls.cert,
          key: tls.key,
          agent: false,
          signal: options.signal,
          headers: {
            "content-type": "application/json",
            "content-length": String(payload.length),
          },
        }, resolve);
        req.on("error", (err: Error) =>
          reject(
            new EtcdError(`etcd ${endpoint} snapshot: ${err.message}`, {
              code: 0,
              endpoint,
            }, { cause: err }),
          ));
        req.end(payload);
      },
    );
    const fail = (message: string, code = 2) =>
      new EtcdError(`etcd ${endpoint} snapshot: ${message}`, {
        code,
        endpoint,
      });
    let text = "";
    let remaining: string | undefined;
    const decoder = new TextDecoder();
    const lines = function* (final: boolean): Generator<Json> {
      let at: number;
      while ((at = text.indexOf("\n")) >= 0 || (final && text.trim())) {
        const line = at >= 0 ? text.slice(0, at) : text;
        text = at >= 0 ? text.slice(at + 1) : "";
        if (!line.trim()) continue;
        let json: unknown;
        try {
          json = JSON.parse(line);
        } catch {
          throw fail(`not JSON: ${line.slice(0, 200)}`);
        }
        if (!isObject(json)) throw fail("a chunk is not an object");
        yield json;
      }
    };
    const chunkOf = (json: Json): Uint8Array => {
      const err = isObject(json.error) ? json.error : undefined;
      if (err || res.statusCode !== 200) {
        const msg = typeof err?.message === "string"
          ? err.message
          : typeof json.message === "string"
          ? json.message
          : `HTTP ${res.statusCode}`;
        throw fail(msg, typeof err?.code === "number" ? err.code : 2);
      }
      const r = isObject(json.result) ? json.result : {};
      remaining = u64(r.remaining_bytes, "snapshot remaining_bytes");
      return typeof r.blob === "string"
        ? Uint8Array.from(atob(r.blob), (c) => c.charCodeAt(0))
        : new Uint8Array();
    };
    for await (const c of res as AsyncIterable<Uint8Array>) {
      text += decoder.decode(c, { stream: true });
      for (const json of lines(false)) {
        const bytes = chunkOf(json);
        if (bytes.length > 0) yield bytes;
      }
    }
    for (const json of lines(true)) {
      const bytes = chunkOf(json);
      if (bytes.length > 0) yield bytes;
    }
    if (remaining !== "0") {
      throw fail(`ended with ${remaining ?? "all"} bytes still to come`, 0);
    }
  }

  /** Writes a key (UTF-8 text). */
  async put(
    key: string,
    value: string,
    options: EtcdCallOptions = {},
  ): Promise<void> {
    await this.#call("POST", "/v3/kv/put", {
      key: b64(key),
      value: b64(value),
    }, options);
  }

  /** Reads a key (UTF-8 text), undefined when absent. */
  async get(
    key: string,
    options: EtcdCallOptions = {},
  ): Promise<string | undefined> {
    const res = await this.#call("POST", "/v3/kv/range", {
      key: b64(key),
    }, options);
    const kvs = Array.isArray(res.kvs) ? res.kvs : [];
    const kv = kvs[0];
    if (!isObject(kv)) return undefined;
    return typeof kv.value === "string" ? unb64(kv.value) : "";
  }

  async #call(
    method: "GET" | "POST",
    path: string,
    body: unknown,
    options: EtcdCallOptions,
  ): Promise<Json> {
    const targets = options.endpoint
      ? [parseEtcdEndpoint(options.endpoint)]
      : this.#endpoints;
    let last: unknown;
    for (const url of targets) {
      options.signal?.throwIfAborted();
      try {
        return await this.#request(url, method, path, body, options);
      } catch (err) {
        // etcd answered: another endpoint would say the same, unless this
        // one is a learner, which serves no member list, status of others...
        if (
          err instanceof EtcdError && err.code !== 0 &&
          !err.message.includes(LEARNER_REFUSAL)
        ) throw err;
        last = err;
      }
    }
    throw last;
  }

  #request(
    url: URL,
    method: "GET" | "POST",
    path: string,
    body: unknown,
    options: EtcdCallOptions,
  ): Promise<Json> {
    const endpoint = url.origin;
    const tls = this.#tls();
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = options.signal
      ? AbortSignal.any([options.signal, timeout])
      : timeout;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise<Json>((resolve, reject) => {
      const fail = (message: string, code: number, cause?: unknown) =>
        reject(
          new EtcdError(`etcd ${endpoint}${path}: ${message}`, {
            code,
            endpoint,
          }, { cause }),
        );
      const req = https.request({
        host: url.hostname.replace(/^\[|\]$/g, ""),
        port: Number(url.port),
        path,
        method,
        ca: tls.ca,
        cert: tls.cert,
        key: tls.key,
        agent: this.#agent ?? false,
        signal,
        headers: payload === undefined ? {} : {
          "content-type": "application/json",
          "content-length": String(new TextEncoder().encode(payload).length),
        },
      }, (res) => {
        const chunks: Uint8Array[] = [];
        let size = 0;
        res.on("data", (c: Uint8Array) => {
          size += c.length;
          if (size > MAX_ANSWER_BYTES) {
            req.destroy();
            fail(`answer larger than ${MAX_ANSWER_BYTES} bytes`, 0);
            return;
          }
          chunks.push(c);
        });
        res.on("error", (err: Error) => fail(err.message, 0, err));
        res.on("end", () => {
          const text = new TextDecoder().decode(concat(chunks, size));
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            return fail(
              `HTTP ${res.statusCode}: not JSON: ${text.slice(0, 200)}`,
              0,
            );
          }
          if (!isObject(json)) return fail("answer is not an object", 0);
          const status = res.statusCode ?? 0;
          if (status !== 200 || typeof json.code === "number") {
            const msg = typeof json.message === "string"
              ? json.message
              : typeof json.error === "string"
              ? json.error
              : text.slice(0, 200);
            // /health answers 503 with {"health":"false"}: a verdict.
            if (path === "/health" && "health" in json) return resolve(json);
            return fail(
              msg,
              typeof json.code === "number" && json.code > 0 ? json.code : 2,
            );
          }
          resolve(json);
        });
      });
      req.on("error", (err: Error) => {
        const why = timeout.aborted
          ? `no answer within ${timeoutMs} ms`
          : options.signal?.aborted
          ? "canceled"
          : err.message;
        fail(why, 0, err);
      });
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }
}

function alarms(res: Json): EtcdAlarmInfo[] {
  const list = Array.isArray(res.alarms) ? res.alarms : [];
  return list.filter(isObject).map((a) => ({
    memberId: u64(a.memberID, "alarm memberID"),
    alarm: typeof a.alarm === "string" ? a.alarm : "NONE",
  }));
}

function concat(chunks: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function b64(text: string): string {
  let bin = "";
  for (const b of new TextEncoder().encode(text)) bin += String.fromCharCode(b);
  return btoa(bin);
}

function unb64(s: string): string {
  return new TextDecoder().decode(
    Uint8Array.from(atob(s), (c) => c.charCodeAt(0)),
  );
}
