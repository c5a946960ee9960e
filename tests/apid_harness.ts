/**
 * Test harness for apid: an OS CA with client and node certificates, and
 * nodes made of a real nats-server, a real apid process and a stand-in for
 * machined's API on the bus (answers that name the node and echo the roles
 * and caller apid passed on).
 * @module
 */
import "reflect-metadata";
import { Buffer } from "node:buffer";
import { clientTls, RawChannel } from "../lib/grpc/mod.ts";
import { NODE_SERVER_NAME } from "../lib/certdir/mod.ts";
import { Data, Empty } from "../lib/api/gen/common/common.ts";
import {
  Event,
  EventsRequest,
  GenerateClientConfigurationRequest,
  GenerateClientConfigurationResponse,
  LogsRequest,
  RebootRequest,
  RebootResponse,
  ServiceListResponse,
  ServiceRestartRequest,
  ServiceRestartResponse,
  ServiceStartRequest,
  ServiceStartResponse,
  VersionResponse,
} from "../lib/api/gen/machine/machine.ts";
import { ApiError } from "../lib/api_error/mod.ts";
import { Bus, serveTyped, serveTypedStream } from "../lib/bus/mod.ts";
import {
  HEADER_CALLER,
  HEADER_ROLES,
  rpcSubject,
  streamSubject,
} from "../lib/constants/mod.ts";
import { CertificateAuthority, type PemKeyPair } from "../lib/pki/mod.ts";
import {
  delay,
  startNats,
  type TestNats,
  waitUntil,
} from "../lib/testing/mod.ts";

const DENO = Deno.execPath();
const ROOT = new URL("..", import.meta.url).pathname;

/** A CA and the certificates tests need. */
export interface TestPki {
  /** The OS CA. */
  ca: CertificateAuthority;
  /** A client certificate with these roles (Organization values). */
  client(roles: string[], ttlMs?: number): Promise<PemKeyPair>;
  /** Writes apid's certs folder for a node. */
  writeNodeCerts(
    dir: string,
    node: { address: string; hostname: string; controlPlane: boolean },
  ): Promise<void>;
}

/** Makes a fresh OS CA. */
export async function makePki(): Promise<TestPki> {
  const ca = await CertificateAuthority.create();
  return {
    ca,
    client: (roles, ttlMs = 3600_000) =>
      ca.issueKeyPair({
        commonName: `user-${roles.join("+") || "none"}`,
        organizations: roles,
        usages: ["clientAuth"],
        ttlMs,
      }),
    async writeNodeCerts(dir, node) {
      await Deno.mkdir(dir, { recursive: true });
      const server = await ca.issueKeyPair({
        commonName: node.hostname,
        dnsNames: [NODE_SERVER_NAME, node.hostname],
        ipAddresses: [node.address],
        usages: ["serverAuth"],
        ttlMs: 3600_000,
      });
      await Deno.writeTextFile(`${dir}/ca.crt`, ca.crtPem);
      await Deno.writeTextFile(`${dir}/server.crt`, server.crt);
      await Deno.writeTextFile(`${dir}/server.key`, server.key, {
        mode: 0o600,
      });
      if (node.controlPlane) {
        const client = await ca.issueKeyPair({
          commonName: `apid-${node.hostname}`,
          organizations: ["os:impersonator"],
          usages: ["clientAuth"],
          ttlMs: 3600_000,
        });
        await Deno.writeTextFile(`${dir}/client.crt`, client.crt);
        await Deno.writeTextFile(`${dir}/client.key`, client.key, {
          mode: 0o600,
        });
      }
    },
  };
}

/** A random loopback /24 prefix, so parallel test runs do not collide. */
export function randomLoopbackPrefix(): string {
  const a = 100 + Math.floor(Math.random() * 150);
  const b = Math.floor(Math.random() * 256);
  return `127.${a}.${b}`;
}

/** One node: nats-server, the stand-in machined API, and apid. */
export interface TestNode extends AsyncDisposable {
  /** The node address. */
  address: string;
  /** The node hostname. */
  hostname: string;
  /** apid's pid. */
  readonly apidPid: number;
  /** apid's stderr lines so far (JSON logs). */
  apidLog: string[];
  /** The nats-server. */
  nats: TestNats;
  /** apid's certificate folder. */
  certsDir: string;
  /** Log streams the machined stand-in is serving right now. */
  readonly openLogStreams: number;
  /** Stops apid with a signal and waits for it ("SIGSTOP" freezes it). */
  signalApid(signal: Deno.Signal): void;
  /** Kills apid and waits for it to exit. */
  stopApid(): Promise<void>;
  /** Starts apid again and waits until it listens. */
  startApid(): Promise<void>;
}

/** Options of {@linkcode startNode}. */
export interface StartNodeOptions {
  /** Node address (loopback). */
  address: string;
  /** Node hostname. */
  hostname: string;
  /** Control plane (forwards). */
  controlPlane: boolean;
  /** apid port; 50000 by default. */
  port?: number;
  /** Leg deadline of apid in ms. */
  legTimeoutMs?: number;
  /** Extra apid flags. */
  apidArgs?: string[];
  /** Where to keep the node's files. */
  dir: string;
  /** How often a followed log gets a line, in ms (default 50). */
  followIntervalMs?: number;
}

/** Starts a node's nats-server, the machined stand-in and apid. */
export async function startNode(
  pki: TestPki,
  options: StartNodeOptions,
): Promise<TestNode> {
  const nats = await startNats(options.address);
  const bus = await Bus.connect(nats.creds("machined"));
  const streams = { open: 0 };
  serveFakeMachined(bus, options.hostname, streams, options.followIntervalMs);
  await bus.flush();
  const certs = `${options.dir}/certs/apid`;
  await pki.writeNodeCerts(certs, options);
  const port = options.port ?? 50000;
  let child: Deno.ChildProcess | undefined;
  let logDone: Promise<void> = Promise.resolve();
  const apidLog: string[] = [];
  const start = async () => {
    const args = [
      "run",
      "-A",
      "--no-prompt",
      `${ROOT}services/apid/main.ts`,
      "--address",
      options.address,
      "--hostname",
      options.hostname,
      "--certs",
      certs,
      "--port",
      String(port),
    ];
    if (options.controlPlane) args.push("--control-plane");
    args.push(...(options.apidArgs ?? []));
    if (options.legTimeoutMs) {
      args.push("--leg-timeout-ms", String(options.legTimeoutMs));
    }
    const proc = new Deno.Command(DENO, {
      args,
      stdin: "piped",
      stdout: "null",
      stderr: "piped",
      env: {
        NO_COLOR: "1",
        // Debugging: pass grpc-js tracing through to apid.
        ...Object.fromEntries(
          ["GRPC_TRACE", "GRPC_VERBOSITY"].flatMap((k) => {
            const v = Deno.env.get(`APID_${k}`);
            return v ? [[k, v]] : [];
          }),
        ),
      },
    }).spawn();
    child = proc;
    const w = proc.stdin.getWriter();
    await w.write(
      new TextEncoder().encode(JSON.stringify({ bus: nats.creds("apid") })),
    );
    await w.close();
    logDone = (async () => {
      let buf = "";
      for await (
        const chunk of proc.stderr.pipeThrough(new TextDecoderStream())
      ) {
        buf += chunk;
        const lines = buf.split("\n");
        buf = lines.pop() ?? "";
        apidLog.push(...lines);
      }
      if (buf) apidLog.push(buf);
      const st = await proc.status;
      apidLog.push(`apid exited: code ${st.code} signal ${st.signal}`);
    })();
    await waitUntil(async () => {
      if (apidLog.some((l) => l.includes('"failed"'))) {
        throw new Error(`apid failed: ${apidLog.join("\n")}`);
      }
      try {
        const c = await Deno.connect({ hostname: options.address, port });
        c.close();
        return true;
      } catch {
        return false;
      }
    }, { timeoutMs: 30000, what: `apid on ${options.address}:${port}` });
  };
  const stopApid = async () => {
    if (!child) return;
    const c = child;
    child = undefined;
    try {
      c.kill("SIGCONT");
      c.kill("SIGKILL");
    } catch {
      // gone
    }
    await c.status;
    await logDone;
  };
  await start();
  return {
    address: options.address,
    hostname: options.hostname,
    get apidPid() {
      return child?.pid ?? 0;
    },
    apidLog,
    nats,
    certsDir: certs,
    get openLogStreams() {
      return streams.open;
    },
    signalApid: (signal) => child?.kill(signal),
    stopApid,
    startApid: start,
    async [Symbol.asyncDispose]() {
      await stopApid();
      await bus.close();
      await nats[Symbol.asyncDispose]();
    },
  };
}

/** Options of {@linkcode startNodes}. */
export interface StartNodesOptions {
  /** Where the nodes keep their files (one folder each, by hostname). */
  dir: string;
  /**
   * How many nodes: the first is the control plane "cp-1" at .2 of a random
   * loopback /24, the others workers "worker-1", "worker-2", ... at .3, .4, ...
   */
  count: number;
  /** apid's leg deadline on every node, in ms. */
  legTimeoutMs?: number;
  /** How often a followed log gets a line, in ms (default 50). */
  followIntervalMs?: number;
  /** Extra apid flags of the control plane only. */
  controlPlaneApidArgs?: string[];
  /** How many nodes start at once (default: all). */
  batch?: number;
  /** The loopback /24 prefix, e.g. "127.150.3" (default: a random one). */
  prefix?: string;
}

/** Nodes started together, and the channels dialled to them. */
export interface TestNodes extends AsyncDisposable {
  /** The nodes, control plane first. */
  nodes: TestNode[];
  /** Dials a node's apid (as `pair`, trusting `caPem`, by default the OS CA); closed on dispose. */
  dial(
    node: TestNode,
    options?: { pair?: PemKeyPair; caPem?: string },
  ): RawChannel;
}

/** Starts a control plane and workers; if one fails, stops the others. */
export async function startNodes(
  pki: TestPki,
  options: StartNodesOptions,
): Promise<TestNodes> {
  const prefix = options.prefix ?? randomLoopbackPrefix();
  const nodes: TestNode[] = [];
  const channels: RawChannel[] = [];
  const dispose = async () => {
    for (const ch of channels) ch.close();
    await Promise.all(nodes.map((n) => n[Symbol.asyncDispose]()));
  };
  const batch = options.batch ?? options.count;
  for (let i = 0; i < options.count; i += batch) {
    const started = await Promise.allSettled(
      Array.from({ length: Math.min(batch, options.count - i) }, (_, k) => {
        const j = i + k;
        const hostname = j === 0 ? "cp-1" : `worker-${j}`;
        return startNode(pki, {
          address: `${prefix}.${j + 2}`,
          hostname,
          controlPlane: j === 0,
          legTimeoutMs: options.legTimeoutMs,
          followIntervalMs: options.followIntervalMs,
          apidArgs: j === 0 ? options.controlPlaneApidArgs : undefined,
          dir: `${options.dir}/${hostname}`,
        });
      }),
    );
    for (const r of started) if (r.status === "fulfilled") nodes.push(r.value);
    const failed = started.find((r): r is PromiseRejectedResult =>
      r.status === "rejected"
    );
    if (failed) {
      await dispose();
      throw failed.reason;
    }
  }
  return {
    nodes,
    dial(node, dialOptions = {}) {
      const ch = dialApid(node.address, {
        caPem: dialOptions.caPem ?? pki.ca.crtPem,
        pair: dialOptions.pair,
      });
      channels.push(ch);
      return ch;
    },
    [Symbol.asyncDispose]: dispose,
  };
}

/** The line of apid's log that shows it crashed, if any. */
export function apidCrash(node: TestNode): string | undefined {
  return node.apidLog.find((l) => /SIGABRT|SIGSEGV|Assertion/.test(l));
}

/**
 * A stand-in for machined's API on the bus: Version names the node in
 * platform.name, mutating calls echo the roles and caller they got.
 */
function serveFakeMachined(
  bus: Bus,
  hostname: string,
  streams: { open: number },
  followIntervalMs = 50,
): void {
  const echo = (h: Record<string, string>) =>
    `roles=${h[HEADER_ROLES] ?? ""};caller=${h[HEADER_CALLER] ?? ""}`;
  serveTyped(
    bus,
    rpcSubject("machined", "Version"),
    { req: Empty, res: VersionResponse },
    () =>
      Promise.resolve({
        messages: [{
          metadata: undefined,
          version: {
            tag: "v0.0.0-test",
            sha: "test",
            built: "",
            denoVersion: Deno.version.deno,
            os: "linux",
            arch: "amd64",
          },
          platform: { name: hostname, mode: "process" },
        }],
      }),
  );
  serveTyped(
    bus,
    rpcSubject("machined", "ServiceList"),
    { req: Empty, res: ServiceListResponse },
    () =>
      Promise.resolve({
        messages: [{
          metadata: undefined,
          services: [{
            id: "apid",
            state: "Running",
            events: [{
              msg: "Health check successful",
              state: "Running",
              ts: new Date().toISOString(),
            }],
            health: {
              unknown: false,
              healthy: true,
              lastMessage: "",
              lastChange: new Date().toISOString(),
            },
            pid: 42,
            dependsOn: [],
          }],
        }],
      }),
  );
  serveTyped(
    bus,
    rpcSubject("machined", "ServiceRestart"),
    { req: ServiceRestartRequest, res: ServiceRestartResponse },
    (req, ctx) =>
      Promise.resolve({
        messages: [{
          metadata: undefined,
          resp: `restarted ${req.id}; ${echo(ctx.headers)}`,
        }],
      }),
  );
  // As machined's supervisor: an unknown id is NotFound, quoting it.
  serveTyped(
    bus,
    rpcSubject("machined", "ServiceStart"),
    { req: ServiceStartRequest, res: ServiceStartResponse },
    (req) => {
      if (req.id !== "apid") {
        throw new ApiError("NotFound", `service "${req.id}" not defined`);
      }
      return Promise.resolve({
        messages: [{ metadata: undefined, resp: `started ${req.id}` }],
      });
    },
  );
  serveTyped(
    bus,
    rpcSubject("machined", "Reboot"),
    { req: RebootRequest, res: RebootResponse },
    (_req, ctx) =>
      Promise.resolve({
        messages: [{ metadata: undefined, actorId: echo(ctx.headers) }],
      }),
  );
  serveTyped(
    bus,
    rpcSubject("machined", "GenerateClientConfiguration"),
    {
      req: GenerateClientConfigurationRequest,
      res: GenerateClientConfigurationResponse,
    },
    (req) =>
      Promise.resolve({
        messages: [{
          metadata: undefined,
          ca: Buffer.from(""),
          crt: Buffer.from(req.roles.join(",")),
          key: Buffer.from(""),
          osconfig: Buffer.from(""),
        }],
      }),
  );
  serveTypedStream(
    bus,
    streamSubject("machined", "Logs"),
    { req: LogsRequest, res: Data },
    async (req, ctx) => {
      streams.open++;
      try {
        const tail = req.tailLines < 0 ? 3 : Math.min(3, req.tailLines);
        for (let i = 0; i < tail; i++) {
          await ctx.send({
            metadata: undefined,
            bytes: Buffer.from(`${hostname} ${req.id} line ${i}\n`),
          });
        }
        for (let i = 0; req.follow; i++) {
          await delay(followIntervalMs, ctx.signal);
          await ctx.send({
            metadata: undefined,
            bytes: Buffer.from(`${hostname} ${req.id} follow ${i}\n`),
          });
        }
      } finally {
        streams.open--;
      }
    },
  );
  serveTypedStream(
    bus,
    streamSubject("machined", "Events"),
    { req: EventsRequest, res: Event },
    async (req, ctx) => {
      for (let i = 0; req.follow || i < 2; i++) {
        await ctx.send({
          metadata: undefined,
          id: `${hostname}-${i}`,
          ts: new Date().toISOString(),
          type: "service",
          service: "apid",
          state: "Running",
          message: `event ${i} on ${hostname}`,
        });
        if (req.follow) await delay(50, ctx.signal);
      }
    },
  );
}

/** Dials an apid with a client certificate (or none) trusting `caPem`. */
export function dialApid(
  address: string,
  options: { caPem: string; pair?: PemKeyPair; port?: number },
): RawChannel {
  const tls = clientTls({
    ca: options.caPem,
    cert: options.pair?.crt,
    key: options.pair?.key,
  });
  return new RawChannel(
    `${address}:${options.port ?? 50000}`,
    tls.credentials,
    {
      channelOptions: {
        ...tls.channelOptions,
        // grpc-js leaves its reconnect backoff timer running after close: keep
        // it short so tests end without pending timers.
        "grpc.initial_reconnect_backoff_ms": 100,
        "grpc.max_reconnect_backoff_ms": 200,
      },
    },
  );
}
