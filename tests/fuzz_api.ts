/**
 * A fuzz campaign against a real apid: every method of the method table
 * gets random, well-formed, truncated, corrupted and edge-case protobuf
 * payloads as raw gRPC bytes. A payload the generated decoder refuses must
 * answer InvalidArgument; one it accepts must get a normal answer or a
 * domain refusal, never Unknown, Internal or a hang. Mutating methods get
 * only payloads that do not decode (a decodable Reboot would reboot).
 * Shared by tests/fuzz_api_test.ts and bench/fuzz_bench.ts.
 * @module
 */
import { BinaryReader } from "@bufbuild/protobuf/wire";
import { Metadata } from "../lib/api/gen/common/common.ts";
import { MachineServiceService } from "../lib/api/gen/machine/machine.ts";
import {
  MACHINE_SERVICE_PATH,
  METHOD_NAMES,
  type MethodName,
  METHODS,
} from "../lib/api/mod.ts";
import { ApiError, type StatusName, statusName } from "../lib/api_error/mod.ts";
import { clientTls, RawChannel } from "../lib/grpc/mod.ts";
import type { PemKeyPair } from "../lib/pki/mod.ts";
import { ipFamily } from "../lib/netaddr/mod.ts";
import {
  type FuzzPayload,
  hex,
  protobufPayloads,
  Rng,
} from "../lib/testing/mod.ts";

/** Statuses a decodable request may be refused with (a domain answer). */
const DOMAIN_REFUSALS: ReadonlySet<StatusName> = new Set<StatusName>([
  "InvalidArgument",
  "NotFound",
  "FailedPrecondition",
  "OutOfRange",
  "AlreadyExists",
  "ResourceExhausted",
  "PermissionDenied",
  "Unimplemented",
]);

/** One case that broke the rule. */
export interface FuzzFailure {
  /** The method. */
  method: MethodName;
  /** Index of the case in the method's list (with the seed, reproduces it). */
  index: number;
  /** How the payload was made. */
  kind: FuzzPayload["kind"];
  /** Whether the generated decoder accepts the payload. */
  decodable: boolean;
  /** The payload, hex. */
  payload: string;
  /** What came back. */
  outcome: string;
}

/** What a campaign did. */
export interface FuzzReport {
  /** Calls made. */
  calls: number;
  /** Decodable payloads not sent to mutating methods. */
  skipped: number;
  /** Calls answered normally. */
  answered: number;
  /** Calls refused as the rule allows, by status. */
  refused: Record<string, number>;
  /** Calls ended by a stray HTTP/2 cancel and retried once. */
  transportCancels: number;
  /** Cases that broke the rule. */
  failures: FuzzFailure[];
  /** Wall time in ms. */
  ms: number;
}

/** Options of {@linkcode fuzzMethods}. */
export interface FuzzMethodsOptions {
  /** The run's seed (each method's cases come from it and its name). */
  seed: number;
  /** Cases per method. */
  cases: number;
  /** Metadata sent with every call (e.g. `node` to forward). */
  metadata?: Readonly<Record<string, string>>;
  /** Methods to fuzz (default every method of the table). */
  methods?: readonly MethodName[];
  /** Cases to leave out, "Method#index" (a known defect, reported apart). */
  exclude?: ReadonlySet<string>;
  /** Calls in flight at once (default 8). */
  concurrency?: number;
  /** A call taking longer than this counts as a hang (ms, default 10 s). */
  hangMs?: number;
  /** How long a stream is read before it is cancelled (ms, default 200). */
  streamReadMs?: number;
  /**
   * The channel streams go on (default `api`). Give one with its own
   * connection: Deno's HTTP/2 client can end the other calls of a session
   * when a stream on it is cancelled ("Call cancelled").
   */
  streamApi?: RawChannel;
}

function nameSeed(seed: number, name: string): number {
  let h = seed >>> 0;
  for (const c of name) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return h;
}

/** The generated request decoder of a method (found by its gRPC path). */
function requestDecoder(name: MethodName): (bytes: Uint8Array) => unknown {
  const path = `${MACHINE_SERVICE_PATH}${name}`;
  const def = Object.values(MachineServiceService).find((d) =>
    d.path === path
  ) as unknown as
    | { requestDeserialize(bytes: Uint8Array): unknown }
    | undefined;
  if (!def) throw new Error(`Cannot find ${path} in the service definition`);
  return (bytes) => def.requestDeserialize(bytes);
}

/** Whether the generated decoder accepts `bytes` as `name`'s request. */
export function decodes(name: MethodName, bytes: Uint8Array): boolean {
  const decode = requestDecoder(name);
  try {
    decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** The payloads of one method for a seed, in case order. */
export function methodPayloads(
  seed: number,
  name: MethodName,
  cases: number,
): FuzzPayload[] {
  return protobufPayloads(new Rng(nameSeed(seed, name)), cases);
}

type EntryError = { node: string; status: StatusName; error: string };

/** The node error of one answer item (its `common.Metadata metadata = 1`). */
export function itemError(item: Uint8Array): EntryError | undefined {
  const r = new BinaryReader(item);
  while (r.pos < r.len) {
    const [f, w] = r.tag();
    if (f !== 1 || w !== 2) {
      r.skip(w);
      continue;
    }
    const md = Metadata.decode(r.bytes());
    if (!md.error) return undefined;
    return {
      node: md.hostname,
      status: statusName(md.status?.code ?? 2),
      error: md.error,
    };
  }
  return undefined;
}

/** The node errors of a merged unary answer (`repeated X messages = 1`). */
export function entryErrors(bytes: Uint8Array): EntryError[] {
  const out: EntryError[] = [];
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [field, wire] = r.tag();
    if (field !== 1 || wire !== 2) {
      r.skip(wire);
      continue;
    }
    const e = itemError(r.bytes());
    if (e) out.push(e);
  }
  return out;
}

type Outcome =
  | { ok: true }
  | { ok: false; status: StatusName | "Hang"; message: string };

async function callOnce(
  api: RawChannel,
  name: MethodName,
  bytes: Uint8Array,
  options: {
    metadata?: Readonly<Record<string, string>>;
    hangMs: number;
    streamReadMs: number;
    toEnd: boolean;
  },
): Promise<Outcome> {
  const path = `${MACHINE_SERVICE_PATH}${name}`;
  const ac = new AbortController();
  let hung = false;
  const timer = setTimeout(() => {
    hung = true;
    ac.abort();
  }, options.hangMs);
  try {
    const merged = options.metadata?.nodes !== undefined;
    // A merged answer carries each node's failure as an entry.
    const entryOutcome = (
      reply: Uint8Array,
      item = false,
    ): Outcome | undefined => {
      if (!merged) return undefined;
      const bad = item ? itemError(reply) : entryErrors(reply)[0];
      return bad &&
        { ok: false, status: bad.status, message: `${bad.node}: ${bad.error}` };
    };
    if (!METHODS[name].stream) {
      const reply = await api.unary(path, bytes, {
        metadata: options.metadata,
        timeoutMs: options.hangMs,
        signal: ac.signal,
      });
      return entryOutcome(reply) ?? { ok: true };
    }
    const stream = await api.stream(path, bytes, {
      metadata: options.metadata,
      signal: ac.signal,
    });
    const it = stream[Symbol.asyncIterator]();
    // Read what comes within the window (a follow stream never ends); a
    // request that cannot decode must end in its error, however late.
    const until = Date.now() +
      (options.toEnd ? options.hangMs : options.streamReadMs);
    while (Date.now() < until) {
      let tick: ReturnType<typeof setTimeout> | undefined;
      const next = await Promise.race([
        it.next(),
        new Promise<"idle">((r) => {
          tick = setTimeout(() => r("idle"), until - Date.now());
        }),
      ]).finally(() => clearTimeout(tick));
      if (next === "idle" || next.done) break;
      // One node's refusal in a merged stream is one item, the others go on.
      const bad = entryOutcome(next.value, true);
      if (bad) {
        ac.abort();
        await it.return?.().catch(() => {});
        return bad;
      }
    }
    ac.abort();
    await it.return?.().catch(() => {});
    return { ok: true };
  } catch (err) {
    if (hung) {
      return {
        ok: false,
        status: "Hang",
        message: `no answer in ${options.hangMs} ms`,
      };
    }
    if (err instanceof ApiError) {
      if (err.status === "Canceled" && ac.signal.aborted) return { ok: true };
      return { ok: false, status: err.status, message: err.message };
    }
    return { ok: false, status: "Unknown", message: String(err) };
  } finally {
    clearTimeout(timer);
  }
}

/** Runs the campaign; never throws for a case, it reports it. */
export async function fuzzMethods(
  api: RawChannel,
  options: FuzzMethodsOptions,
): Promise<FuzzReport> {
  const started = Date.now();
  const report: FuzzReport = {
    calls: 0,
    skipped: 0,
    answered: 0,
    refused: {},
    transportCancels: 0,
    failures: [],
    ms: 0,
  };
  const hangMs = options.hangMs ?? 10_000;
  const streamReadMs = options.streamReadMs ?? 200;
  const jobs: Array<{ stream: boolean; run: () => Promise<void> }> = [];
  for (const name of options.methods ?? METHOD_NAMES) {
    const payloads = methodPayloads(options.seed, name, options.cases);
    for (const [index, payload] of payloads.entries()) {
      if (options.exclude?.has(`${name}#${index}`)) continue;
      const decodable = decodes(name, payload.bytes);
      if (decodable && METHODS[name].mutating) {
        report.skipped++;
        continue;
      }
      jobs.push({
        stream: METHODS[name].stream,
        run: async () => {
          report.calls++;
          const channel = METHODS[name].stream ? options.streamApi ?? api : api;
          const call = () =>
            callOnce(channel, name, payload.bytes, {
              metadata: options.metadata,
              hangMs,
              streamReadMs,
              toEnd: !decodable,
            });
          let out = await call();
          // grpc-js's own text for an RST_STREAM(CANCEL) it did not ask for:
          // Deno's HTTP/2 can end a stream beside one just cancelled. Once
          // is counted and retried; twice is a failure.
          if (
            !out.ok && out.status === "Canceled" &&
            out.message === "Call cancelled"
          ) {
            report.transportCancels++;
            out = await call();
          }
          const fail = (outcome: string) =>
            report.failures.push({
              method: name,
              index,
              kind: payload.kind,
              decodable,
              payload: hex(payload.bytes),
              outcome,
            });
          if (out.ok) {
            if (decodable) report.answered++;
            else fail("answered normally, want InvalidArgument");
            return;
          }
          const said = `${out.status}: ${out.message.slice(0, 200)}`;
          const allowed = decodable
            ? DOMAIN_REFUSALS.has(out.status as StatusName)
            : out.status === "InvalidArgument";
          if (!allowed) {
            fail(said);
            return;
          }
          report.refused[out.status] = (report.refused[out.status] ?? 0) + 1;
        },
      });
    }
  }
  // Streams one at a time: Deno's HTTP/2 client can end unrelated streams
  // of a session when streams are cancelled beside them ("Call cancelled").
  const pools = [
    { list: jobs.filter((j) => !j.stream), width: options.concurrency ?? 8 },
    { list: jobs.filter((j) => j.stream), width: 1 },
  ];
  await Promise.all(pools.flatMap(({ list, width }) => {
    let next = 0;
    return Array.from({ length: width }, async () => {
      while (next < list.length) await list[next++].run();
    });
  }));
  report.ms = Date.now() - started;
  return report;
}

/** One line per failure, enough to reproduce it. */
export function formatFailures(
  seed: number,
  failures: readonly FuzzFailure[],
): string {
  return failures.map((f) =>
    `seed ${seed} ${f.method}#${f.index} (${f.kind}, ${
      f.decodable ? "decodable" : "undecodable"
    }) payload ${f.payload}: ${f.outcome}`
  ).join("\n");
}

/** Whether apid would take `part` as a target it dials (IP or name-shaped). */
function dialable(part: string): boolean {
  return ipFamily(part) !== undefined || /^[A-Za-z0-9.-]+$/.test(part);
}

/**
 * Random `nodes`/`node` header values: junk, separators, near-addresses and
 * the cluster's own addresses. Any comma-separated part apid would dial is
 * kept only when it is one of `allowed` (loopback addresses the test owns),
 * so no value ever reaches another address or the resolver.
 */
export function targetHeaderValues(
  rng: Rng,
  count: number,
  allowed: readonly string[],
): string[] {
  const pieces = [
    ...allowed,
    "",
    " ",
    ",",
    ",,",
    ":",
    ":::::::",
    "[",
    "]",
    "%",
    "/",
    "*",
    "\\",
    "'",
    '"',
    "@",
    "_",
    "127.20.",
    "#",
    "?",
    "~",
  ];
  const alphabet = " ,.:[]%/*_@#?~0123456789abcdefxXZ";
  const out: string[] = [];
  while (out.length < count) {
    const parts: string[] = [];
    const n = 1 + rng.int(6);
    for (let i = 0; i < n; i++) {
      parts.push(
        rng.chance(0.5)
          ? rng.pick(pieces)
          : rng.pick(allowed) + rng.string(rng.int(4), alphabet),
      );
    }
    if (rng.chance(0.05)) parts.push(rng.string(200 + rng.int(1800), alphabet));
    const value = parts.join(rng.pick([",", "", " , ", ", "]));
    const safe = value.split(",").filter((p) => {
      const t = p.trim();
      return t === "" || !dialable(t) || allowed.includes(t);
    }).join(",");
    out.push(safe);
  }
  return out;
}

/**
 * A channel to apid on `address` with a connection of its own (grpc-js
 * otherwise shares one connection between channels to the same target).
 */
export function dialOwnConnection(
  address: string,
  options: { caPem: string; pair: PemKeyPair },
): RawChannel {
  const tls = clientTls({
    ca: options.caPem,
    cert: options.pair.crt,
    key: options.pair.key,
  });
  return new RawChannel(`${address}:50000`, tls.credentials, {
    channelOptions: {
      ...tls.channelOptions,
      "grpc.use_local_subchannel_pool": 1,
      "grpc.initial_reconnect_backoff_ms": 100,
      "grpc.max_reconnect_backoff_ms": 200,
    },
  });
}
