import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { VersionResponse } from "../../lib/api/gen/machine/machine.ts";
import { MachineServiceService } from "../../lib/api/gen/machine/machine.ts";
import {
  bundleCa,
  generateMachineConfigs,
  generateSecretsBundle,
  type MachineConfig,
  type SecretsBundle,
  stringifyMachineConfig,
  stringifySecretsBundle,
} from "../../lib/config/mod.ts";
import {
  type ClientConfig,
  contextTls,
  loadClientConfig,
  mintClientConfig,
  saveClientConfig,
} from "../../lib/clientconfig/mod.ts";
import { APID_PORT } from "../../lib/constants/mod.ts";
import { ApiClient } from "../client/api_client.ts";
import { nodeAddresses } from "./addresses.ts";
import { launchNode } from "./launch_node.ts";
import { bootstrapEtcd } from "./etcd_bootstrap.ts";
import { isAlive } from "./processes.ts";
import {
  assertNotRunning,
  clusterDir,
  type ClusterNode,
  type ClusterRecord,
  writeClusterRecord,
} from "./state.ts";
import { stopClusterProcesses } from "./destroy.ts";

/** Options for {@linkcode createCluster}. */
export interface CreateClusterOptions {
  /** Cluster name (default "bronze"). */
  name: string;
  /** Number of nodes, control planes first (default 3). */
  nodes: number;
  /** How many of them are control planes (default 1). */
  controlPlanes?: number;
  /** Node CIDR inside 127.0.0.0/8 (default 127.5.0.0/24). */
  cidr: string;
  /** The client config to merge the context into. */
  osconfig: string;
  /** How long to wait for every apid (ms, default 180 s). */
  waitMs?: number;
  /** Extra machined flags (tests: short certificate TTLs). */
  machinedArgs?: string[];
  /** The folder holding clusters (default ~/.osctl/clusters). */
  clustersRoot?: string;
  /** Progress lines. */
  progress?: (line: string) => void;
  /** Cancels the wait (the nodes are then stopped). */
  signal?: AbortSignal;
}

/** The repository root, where services/ lives. */
export function repositoryRoot(): string {
  return fileURLToPath(new URL("../../", import.meta.url));
}

/**
 * The hostname of node i (0-based), control planes first:
 * NAME-controlplane-1, ..., NAME-worker-1, ...
 */
export function nodeName(
  cluster: string,
  index: number,
  controlPlanes = 1,
): string {
  return index < controlPlanes
    ? `${cluster}-controlplane-${index + 1}`
    : `${cluster}-worker-${index - controlPlanes + 1}`;
}

/**
 * Starts a local process-mode cluster: generates its secrets and configs,
 * starts one machined per node (control planes first), merges a context
 * named after the cluster into the client config (and makes it current),
 * waits until every node's apid answers through the first control plane,
 * then bootstraps etcd on it and waits until every control plane's etcd is
 * a healthy voting member.
 */
export async function createCluster(
  options: CreateClusterOptions,
): Promise<ClusterRecord> {
  const progress = options.progress ?? (() => {});
  const controlPlanes = options.controlPlanes ?? 1;
  if (
    !Number.isInteger(controlPlanes) || controlPlanes < 1 ||
    controlPlanes > options.nodes
  ) {
    throw new Error(
      `Cannot create cluster: ${controlPlanes} control planes of ${options.nodes} nodes (want 1 to ${options.nodes})`,
    );
  }
  const addresses = nodeAddresses(options.cidr, options.nodes);
  const root = options.clustersRoot;
  const dir = clusterDir(options.name, root);
  await assertNotRunning(options.name, root);
  for (const address of addresses) assertPortFree(address, APID_PORT);
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });

  progress(`generating secrets and configs for cluster "${options.name}"`);
  const secrets = await generateSecretsBundle();
  const endpoint = addresses[0];
  const configs = generateMachineConfigs(options.name, endpoint, { secrets });
  await Deno.writeTextFile(
    join(dir, "secrets.yaml"),
    stringifySecretsBundle(secrets),
    { mode: 0o600 },
  );

  const record: ClusterRecord = {
    name: options.name,
    cidr: options.cidr,
    provisioner: "process",
    nodes: [],
    created: new Date().toISOString(),
  };
  try {
    for (const [i, address] of addresses.entries()) {
      const name = nodeName(options.name, i, controlPlanes);
      const type = i < controlPlanes ? "controlplane" : "worker";
      const base = configs[type];
      const config: MachineConfig = structuredClone(base);
      config.machine.network = { ...config.machine.network, hostname: name };
      const nodeDir = join(dir, name);
      await Deno.mkdir(nodeDir, { recursive: true, mode: 0o700 });
      const configPath = join(nodeDir, "config.yaml");
      await Deno.writeTextFile(configPath, stringifyMachineConfig(config), {
        mode: 0o600,
      });
      const stateDir = join(nodeDir, "state");
      const pid = await launchNode({
        root: repositoryRoot(),
        stateDir,
        address,
        configPath,
        hostname: name,
        extraArgs: options.machinedArgs,
      });
      const node: ClusterNode = {
        name,
        address,
        type,
        pid,
        stateDir,
        ...(options.machinedArgs ? { machinedArgs: options.machinedArgs } : {}),
      };
      record.nodes.push(node);
      await writeClusterRecord(record, root);
      progress(
        `started ${node.type} ${name} at ${address} (machined pid ${pid})`,
      );
    }

    const waitMs = options.waitMs ?? 180_000;
    const minted = await publishContextAndWait(record, secrets, {
      osconfig: options.osconfig,
      endpoint,
      nodes: addresses,
      waitMs,
      progress,
      signal: options.signal,
    });
    // As talosctl cluster create: the cluster's etcd is formed here.
    await bootstrapEtcd(record, {
      endpoint,
      tls: contextTls(minted.contexts[minted.context]),
      waitMs,
      progress,
      signal: options.signal,
    });
    return record;
  } catch (err) {
    progress(
      `cluster "${options.name}" did not come up; stopping its nodes (logs kept in ${dir})`,
    );
    await stopClusterProcesses(record, dir);
    throw err;
  }
}

function assertPortFree(address: string, port: number): void {
  let listener: Deno.Listener;
  try {
    listener = Deno.listen({ hostname: address, port });
  } catch (err) {
    throw new Error(
      `Cannot use ${address}:${port}: ${
        err instanceof Error ? err.message : err
      }`,
    );
  }
  listener.close();
}

/** Puts `minted`'s context into the client config at `path` and makes it current. */
/**
 * Mints an admin client certificate from the cluster's CA, merges a context
 * named after the cluster (endpoint, nodes) into the client config and makes
 * it current, then waits until every node's apid answers through it;
 * returns the minted client config.
 */
export async function publishContextAndWait(
  record: ClusterRecord,
  secrets: SecretsBundle,
  options: {
    osconfig: string;
    endpoint: string;
    nodes: string[];
    waitMs: number;
    progress: (line: string) => void;
    signal?: AbortSignal;
  },
): Promise<ClientConfig> {
  const minted = await mintClientConfig(await bundleCa(secrets), {
    contextName: record.name,
    endpoints: [options.endpoint],
    nodes: options.nodes,
  });
  await mergeContext(options.osconfig, minted, record.name);
  options.progress(`merged context "${record.name}" into ${options.osconfig}`);
  await waitForApids(record, minted, options);
  return minted;
}

async function mergeContext(
  path: string,
  minted: ClientConfig,
  name: string,
): Promise<void> {
  const current = await loadClientConfig(path, { allowMissing: true });
  current.contexts[name] = minted.contexts[name];
  current.context = name;
  await saveClientConfig(path, current);
}

/**
 * Waits until every node's apid answers Version through the context's
 * endpoint (fan-out to all nodes), failing early when a node's process
 * (machined, or QEMU) is gone.
 */
async function waitForApids(
  record: ClusterRecord,
  config: ClientConfig,
  options: {
    waitMs: number;
    progress: (l: string) => void;
    signal?: AbortSignal;
  },
): Promise<void> {
  const ctx = config.contexts[config.context];
  const addresses = record.nodes.map((n) => n.address);
  const client = new ApiClient({
    endpoints: ctx.endpoints,
    nodes: addresses,
    tls: contextTls(ctx),
  });
  const deadline = Date.now() + options.waitMs;
  let pending = addresses;
  let lastErr = "";
  try {
    while (true) {
      if (options.signal?.aborted) {
        throw new Error("Canceled while waiting for the nodes");
      }
      try {
        const reply: VersionResponse = await client.unary(
          MachineServiceService.version,
          {
            metadata: undefined,
          },
          { timeoutMs: 10_000, signal: options.signal },
        );
        const answered = new Set(
          reply.messages.filter((m) => !m.metadata?.error).map((m) =>
            m.metadata?.hostname ?? ""
          ),
        );
        const left = addresses.filter((a) => !answered.has(a));
        if (left.join() !== pending.join()) {
          options.progress(
            `apid answers on ${
              addresses.length - left.length
            }/${addresses.length} nodes`,
          );
        }
        pending = left;
        lastErr = reply.messages.find((m) =>
          m.metadata?.error
        )?.metadata?.error ?? "";
        if (left.length === 0) return;
      } catch (err) {
        lastErr = err instanceof Error ? err.message : String(err);
      }
      for (const n of record.nodes) {
        if (!(await isAlive(n.pid))) {
          throw new Error(
            record.provisioner === "qemu"
              ? `the VM of ${n.name} exited; see ${
                join(n.stateDir, "console.log")
              }`
              : `machined of ${n.name} exited; see ${
                join(n.stateDir, "machined.log")
              }`,
          );
        }
      }
      if (Date.now() > deadline) {
        throw new Error(
          `Timed out after ${options.waitMs / 1000} s waiting for apid on ${
            pending.join(", ")
          }` +
            (lastErr ? `: ${lastErr}` : ""),
        );
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    client.close();
  }
}
