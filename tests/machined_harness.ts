/**
 * A booted process-mode node for tests and benchmarks: a machine config with
 * a real CA, machined as a real process, and a bus client connected as the
 * "apid" user (its password read from the owner-only DIR/run/nats.conf).
 * @module
 */
import "reflect-metadata";
import {
  type ServiceInfo,
  ServiceListResponse,
} from "../lib/api/gen/machine/machine.ts";
import { Empty } from "../lib/api/gen/common/common.ts";
import { Bus, callTyped } from "../lib/bus/mod.ts";
import {
  type MachineConfig,
  type MachineType,
  stringifyMachineConfig,
} from "../lib/config/mod.ts";
import { NATS_PORT, rpcSubject } from "../lib/constants/mod.ts";
import { CertificateAuthority } from "../lib/pki/mod.ts";
import { listProcesses, readProcess } from "../lib/procfs/mod.ts";
import { waitUntil } from "../lib/testing/mod.ts";
import { readLines } from "../services/machined/runner/process_runner.ts";

/** The Deno permissions machined runs with (as main.ts documents). */
export const MACHINED_PERMISSIONS: readonly string[] = ["--allow-all"];

/** Options for {@linkcode testMachineConfig}. */
export interface TestConfigOptions {
  /** controlplane (default) or worker. */
  type?: MachineType;
  /** machine.network.hostname. */
  hostname?: string;
  /** The OS CA (default: a fresh one). */
  ca?: CertificateAuthority;
  /** cluster.controlPlane.endpoint (workers reach trustd at its host). */
  endpoint?: string;
}

/** A valid v1alpha1 machine config (with a fresh CA unless one is given). */
export async function testMachineConfig(
  options: TestConfigOptions = {},
): Promise<{ config: MachineConfig; ca: CertificateAuthority }> {
  const ca = options.ca ?? await CertificateAuthority.create();
  const type = options.type ?? "controlplane";
  const config: MachineConfig = {
    version: "v1alpha1",
    machine: {
      type,
      token: "abc123.0123456789abcdef",
      ca: {
        crt: btoa(ca.crtPem),
        ...(type === "controlplane" ? { key: btoa(ca.keyPem) } : {}),
      },
      ...(options.hostname ? { network: { hostname: options.hostname } } : {}),
    },
    cluster: {
      name: "test",
      controlPlane: { endpoint: options.endpoint ?? "https://127.5.0.2:6443" },
    },
  };
  return { config, ca };
}

/** Options for {@linkcode startTestNode}. */
export interface TestNodeOptions extends TestConfigOptions {
  /** The node address, e.g. "127.5.100.2" (distinct per test). */
  address: string;
  /** Use this config text instead of a generated one. */
  configText?: string;
  /** Wait until every service is Running and healthy (default true). */
  waitUp?: boolean;
}

/** A running machined and a bus client for it. */
export interface TestNode extends AsyncDisposable {
  /** The node address. */
  address: string;
  /** The state folder. */
  stateDir: string;
  /** The machine config path. */
  configPath: string;
  /** machined's pid. */
  pid: number;
  /** machined's stderr lines so far. */
  stderr: string[];
  /** Resolves with machined's exit status. */
  status: Promise<Deno.CommandStatus>;
  /** A bus client as the "apid" user (connected on first use). */
  bus(): Promise<Bus>;
  /** ServiceList over the bus. */
  services(): Promise<ServiceInfo[]>;
  /** One service over the bus. */
  service(id: string): Promise<ServiceInfo>;
  /** Waits until every service is Running and healthy (or Skipped). */
  waitAllUp(timeoutMs?: number): Promise<ServiceInfo[]>;
  /** Sends a signal to machined. */
  kill(signal: Deno.Signal): void;
}

/** The apid user's password from a node's nats.conf (owner-only file). */
export async function readBusPassword(
  stateDir: string,
  user = "apid",
): Promise<string> {
  const text = await Deno.readTextFile(`${stateDir}/run/nats.conf`);
  const m = new RegExp(`user: "${user}", password: "([0-9a-f]+)"`).exec(text);
  if (!m) {
    throw new Error(`Cannot find user "${user}" in ${stateDir}/run/nats.conf`);
  }
  return m[1];
}

/** Whether a service is up as the API reports it. */
export function serviceUp(s: ServiceInfo): boolean {
  return s.state === "Skipped" ||
    (s.state === "Running" && Boolean(s.health?.healthy));
}

/** Every live (non-zombie) process whose command line mentions a needle. */
export async function processesMentioning(
  ...needles: string[]
): Promise<Array<{ pid: number; argv: string[] }>> {
  const out = [];
  for (const p of await listProcesses()) {
    if (p.pid === Deno.pid || p.state === "Z") continue;
    if (p.argv.some((a) => needles.some((n) => a.includes(n)))) {
      out.push({ pid: p.pid, argv: p.argv });
    }
  }
  return out;
}

/**
 * Every live process of a node: machined and nats-server name the state
 * folder, every daemon's --allow-net names the node's NATS address.
 */
export function nodeProcesses(
  node: { stateDir: string; address: string },
): Promise<Array<{ pid: number; argv: string[] }>> {
  return processesMentioning(node.stateDir, `${node.address}:${NATS_PORT}`);
}

/** Whether a pid is gone (a zombie counts as gone). */
export async function pidGone(pid: number): Promise<boolean> {
  const p = await readProcess(pid);
  return !p || p.state === "Z";
}

/** Starts machined on a temp state dir and (by default) waits until all is up. */
export async function startTestNode(
  options: TestNodeOptions,
): Promise<TestNode> {
  const root = new URL("../", import.meta.url).pathname;
  const stateDir = await Deno.makeTempDir({ prefix: "bronze-node-" });
  const configPath = `${stateDir}/config.yaml`;
  const text = options.configText ??
    stringifyMachineConfig((await testMachineConfig(options)).config);
  await Deno.writeTextFile(configPath, text, { mode: 0o600 });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      ...MACHINED_PERMISSIONS,
      `${root}services/machined/main.ts`,
      "--state",
      stateDir,
      "--address",
      options.address,
      "--config",
      configPath,
    ],
    cwd: root,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr: string[] = [];
  const reading = readLines(child.stderr, 64 * 1024, (l) => {
    stderr.push(l);
    if (stderr.length > 20000) stderr.splice(0, 10000);
  });
  const status = child.status.then(async (st) => {
    await reading;
    return st;
  });
  let bus: Bus | undefined;
  const getBus = async () => {
    if (bus) return bus;
    const pass = await waitUntil(
      () => readBusPassword(stateDir).catch(() => undefined),
      { what: "nats.conf", timeoutMs: 30000 },
    );
    bus = await Bus.connect({
      url: `nats://${options.address}:${NATS_PORT}`,
      user: "apid",
      pass,
    }, { connectTimeoutMs: 30000 });
    return bus;
  };
  const services = async () => {
    const b = await getBus();
    const res = await callTyped(
      b,
      rpcSubject("machined", "ServiceList"),
      { req: Empty, res: ServiceListResponse },
      { metadata: undefined },
      { timeoutMs: 5000 },
    );
    return res.messages[0].services;
  };
  const node: TestNode = {
    address: options.address,
    stateDir,
    configPath,
    pid: child.pid,
    stderr,
    status,
    bus: getBus,
    services,
    async service(id) {
      const s = (await services()).find((x) => x.id === id);
      if (!s) throw new Error(`no service "${id}" in ServiceList`);
      return s;
    },
    waitAllUp(timeoutMs = 90000) {
      return waitUntil(async () => {
        const list = await services();
        return list.every(serviceUp) ? list : undefined;
      }, {
        timeoutMs,
        intervalMs: 250,
        what: `every service up on ${options.address}`,
      });
    },
    kill(signal) {
      try {
        child.kill(signal);
      } catch {
        // already gone
      }
    },
    async [Symbol.asyncDispose]() {
      await bus?.close().catch(() => {});
      bus = undefined;
      node.kill("SIGKILL");
      await status;
      // PR_SET_PDEATHSIG takes the children down; wait for them to go.
      await waitUntil(
        async () => (await nodeProcesses(node)).length === 0,
        { timeoutMs: 15000, what: `no process of ${stateDir} left` },
      ).catch(() => {});
      await Deno.remove(stateDir, { recursive: true }).catch(() => {});
    },
  };
  try {
    if (options.waitUp ?? true) await node.waitAllUp();
  } catch (err) {
    await node[Symbol.asyncDispose]();
    throw new Error(
      `Node ${options.address} did not come up; machined said:\n${
        stderr.slice(-40).join("\n")
      }`,
      { cause: err },
    );
  }
  return node;
}
