import { join } from "node:path";
import { isNodeAlive } from "./processes.ts";

/** One node of a local cluster as recorded on disk. */
export interface ClusterNode {
  /** Hostname, e.g. "bronze-controlplane-1". */
  name: string;
  /** Node address (loopback in process mode). */
  address: string;
  /** Machine type. */
  type: "controlplane" | "worker";
  /** machined's pid. */
  pid: number;
  /** The node's state folder. */
  stateDir: string;
  /** QEMU nodes: the 127.0.0.1 port forwarded to the node's apid. */
  apiPort?: number;
  /** Process nodes: machined's extra flags, for `cluster start`. */
  machinedArgs?: string[];
}

/** What `cluster create` records in ~/.osctl/clusters/NAME/cluster.json. */
export interface ClusterRecord {
  /** Cluster name. */
  name: string;
  /** Node CIDR. */
  cidr: string;
  /** Provisioner: process-mode nodes, or QEMU VMs of the image. */
  provisioner: "process" | "qemu";
  /** QEMU clusters: the VM network's multicast group:port on loopback. */
  vmNetwork?: string;
  /** The nodes, control plane first. */
  nodes: ClusterNode[];
  /** When it was created (RFC 3339). */
  created: string;
}

/** The folder holding every local cluster's state. */
export function clustersDir(): string {
  const override = Deno.env.get("BRONZE_CLUSTERS_DIR");
  if (override) return override;
  const home = Deno.env.get("HOME");
  if (!home) {
    throw new Error("Cannot find the clusters folder: HOME is not set");
  }
  return join(home, ".osctl", "clusters");
}

/** The folder of one cluster (under `root`, ~/.osctl/clusters by default). */
export function clusterDir(name: string, root?: string): string {
  if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(name)) {
    throw new Error(
      `Cannot use cluster name "${name}": use lowercase letters, digits and dashes (at most 63)`,
    );
  }
  return join(root ?? clustersDir(), name);
}

/** Reads a cluster's record, or undefined when there is none. */
export async function readClusterRecord(
  name: string,
  root?: string,
): Promise<ClusterRecord | undefined> {
  const path = join(clusterDir(name, root), "cluster.json");
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw new Error(`Cannot read "${path}"`, { cause: err });
  }
  try {
    const rec = JSON.parse(text) as ClusterRecord;
    if (!Array.isArray(rec.nodes) || typeof rec.name !== "string") {
      throw new Error("bad shape");
    }
    return rec;
  } catch (err) {
    throw new Error(`Cannot parse "${path}"`, { cause: err });
  }
}

/** Writes a cluster's record atomically. */
export async function writeClusterRecord(
  rec: ClusterRecord,
  root?: string,
): Promise<void> {
  const dir = clusterDir(rec.name, root);
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, "cluster.json");
  await Deno.writeTextFile(path + ".tmp", JSON.stringify(rec, null, 2) + "\n", {
    mode: 0o600,
  });
  await Deno.rename(path + ".tmp", path);
}

/** Throws when a cluster of this name has a node still running. */
export async function assertNotRunning(
  name: string,
  root?: string,
): Promise<void> {
  const existing = await readClusterRecord(name, root);
  for (const n of existing?.nodes ?? []) {
    if (await isNodeAlive(n)) {
      throw new Error(
        `Cannot create cluster "${name}": it is running (destroy it first: osctl cluster destroy --name ${name})`,
      );
    }
  }
}
