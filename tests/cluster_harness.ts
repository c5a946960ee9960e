/**
 * A real process-mode cluster for tests: `osctl cluster create`'s own code
 * starts N nodes on a loopback range the test picks, with a private clusters
 * folder and client config; disposing it destroys the cluster.
 * @module
 */
import { join } from "node:path";
import { ApiClient } from "../cli/client/api_client.ts";
import { createCluster } from "../cli/cluster/create.ts";
import { stopClusterProcesses } from "../cli/cluster/destroy.ts";
import { clusterDir, type ClusterRecord } from "../cli/cluster/state.ts";
import { bundleCa, loadSecretsBundle } from "../lib/config/mod.ts";
import type { CertificateAuthority } from "../lib/pki/mod.ts";
import { tempDir } from "../lib/testing/mod.ts";
import { type OsctlResult, runOsctl } from "./osctl_runner.ts";

/** A running test cluster. */
export interface TestCluster extends AsyncDisposable {
  /** What cluster create recorded (nodes, pids, state dirs). */
  record: ClusterRecord;
  /** The cluster's folder. */
  dir: string;
  /** The client config with the cluster's admin context. */
  osconfig: string;
  /** The OS CA (to mint client certificates with any roles). */
  ca: CertificateAuthority;
  /** Node addresses, control plane first. */
  addresses: string[];
  /** An API client through `endpoint` (default the control plane) as `roles`. */
  client(
    options?: { roles?: string[]; endpoint?: string; nodes?: string[] },
  ): Promise<ApiClient>;
  /** Runs ./osctl-equivalent (cli/main.ts) with this cluster's client config. */
  osctl(
    args: string[],
    options?: { signal?: AbortSignal },
  ): Promise<OsctlResult>;
}

/** Options for {@linkcode startTestCluster}. */
export interface TestClusterOptions {
  /** Number of nodes (default 3). */
  nodes?: number;
  /** How many of them are control planes (default 1). */
  controlPlanes?: number;
  /** Extra machined flags (short certificate lifetimes). */
  machinedArgs?: string[];
  /** Loopback CIDR; pick one no other test uses. */
  cidr: string;
  /** Cluster name (default "test"). */
  name?: string;
}

/** Starts a cluster and waits until every apid answers. */
export async function startTestCluster(
  options: TestClusterOptions,
): Promise<TestCluster> {
  const tmp = await tempDir("bronze-cluster-");
  const root = join(tmp.path, "clusters");
  const osconfig = join(tmp.path, "osconfig");
  const name = options.name ?? "test";
  let record: ClusterRecord | undefined;
  try {
    record = await createCluster({
      name,
      nodes: options.nodes ?? 3,
      controlPlanes: options.controlPlanes,
      machinedArgs: options.machinedArgs,
      cidr: options.cidr,
      osconfig,
      clustersRoot: root,
      waitMs: 120_000,
    });
  } catch (err) {
    await tmp[Symbol.asyncDispose]();
    throw err;
  }
  const dir = clusterDir(name, root);
  const ca = await bundleCa(await loadSecretsBundle(join(dir, "secrets.yaml")));
  const addresses = record.nodes.map((n) => n.address);
  const rec = record;
  return {
    record: rec,
    dir,
    osconfig,
    ca,
    addresses,
    async client(opts = {}) {
      const roles = opts.roles ?? ["os:admin"];
      const pair = await ca.issueKeyPair({
        commonName: `test-${roles.join("+")}`,
        organizations: roles,
        usages: ["clientAuth"],
        ttlMs: 3600_000,
      });
      return new ApiClient({
        endpoints: [opts.endpoint ?? addresses[0]],
        nodes: opts.nodes ?? [],
        tls: { ca: ca.crtPem, cert: pair.crt, key: pair.key },
      });
    },
    osctl(args, opts = {}) {
      return runOsctl(["--osconfig", osconfig, ...args], opts);
    },
    async [Symbol.asyncDispose]() {
      // SIGCONT first: a test may have frozen a process with SIGSTOP.
      for (const n of rec.nodes) {
        try {
          Deno.kill(n.pid, "SIGCONT");
        } catch {
          // gone
        }
      }
      await stopClusterProcesses(rec, dir, { graceMs: 20_000 });
      await tmp[Symbol.asyncDispose]();
    },
  };
}
