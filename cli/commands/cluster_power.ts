/**
 * `osctl cluster stop|start [--name NAME] [--node ADDR]`: stops or starts
 * one node or every node of a local process-mode cluster, keeping its
 * state, so a node shut down through the API can be brought back with the
 * config it had accepted.
 * @module
 */
import { join } from "node:path";
import type { Command, CommandContext } from "../command.ts";
import { UsageError } from "../command.ts";
import { parseCommandArgs } from "../client/args.ts";
import { repositoryRoot } from "../cluster/create.ts";
import { launchNode } from "../cluster/launch_node.ts";
import { isNodeAlive, processesOf } from "../cluster/processes.ts";
import {
  clusterDir,
  type ClusterNode,
  type ClusterRecord,
  readClusterRecord,
  writeClusterRecord,
} from "../cluster/state.ts";

const STOP_USAGE = `Usage: osctl cluster stop [--name bronze] [--node ADDR]

Stops one node (--node, its address or name) or every node of a local
process-mode cluster: machined stops its services in order (SIGTERM; what
is left after 30 s is killed). The nodes' state is kept: "cluster start"
boots them again with the config they had accepted.`;

const START_USAGE = `Usage: osctl cluster start [--name bronze] [--node ADDR]

Starts one stopped node (--node, its address or name) or every stopped node
of a local process-mode cluster from its state: the config it had accepted,
its certificates and its history. Nodes that run are left alone.`;

async function load(
  values: { name?: string; node?: string },
  verb: string,
): Promise<{ record: ClusterRecord; nodes: ClusterNode[] }> {
  const name = values.name ?? "bronze";
  const record = await readClusterRecord(name);
  if (!record) {
    throw new Error(
      `no cluster named "${name}" (${clusterDir(name)} has no cluster.json)`,
    );
  }
  if (record.provisioner !== "process") {
    throw new Error(
      `Cannot ${verb} cluster "${name}": it is a ${record.provisioner} cluster (cluster ${verb} is for process-mode clusters)`,
    );
  }
  if (values.node === undefined) return { record, nodes: record.nodes };
  const node = record.nodes.find((n) =>
    n.address === values.node || n.name === values.node
  );
  if (!node) {
    throw new Error(
      `cluster "${name}" has no node ${JSON.stringify(values.node)} (nodes: ${
        record.nodes.map((n) => `${n.name} ${n.address}`).join(", ")
      })`,
    );
  }
  return { record, nodes: [node] };
}

async function stopNode(node: ClusterNode): Promise<"stopped" | "killed"> {
  if (await isNodeAlive(node)) {
    try {
      Deno.kill(node.pid, "SIGTERM");
    } catch {
      // exited meanwhile
    }
  }
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if ((await processesOf(node.stateDir)).length === 0) return "stopped";
    await new Promise((r) => setTimeout(r, 100));
  }
  for (const p of await processesOf(node.stateDir)) {
    try {
      Deno.kill(p.pid, "SIGKILL");
    } catch {
      // exited meanwhile
    }
  }
  return "killed";
}

async function runStop(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    name: { type: "string" },
    node: { type: "string" },
  });
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"`);
  }
  const { nodes } = await load(values, "stop");
  await Promise.all(nodes.map(async (n) => {
    const running = await isNodeAlive(n);
    const how = running ? await stopNode(n) : "not running";
    ctx.io.stdout(`${n.name} (${n.address}): ${how}\n`);
  }));
  return 0;
}

async function runStart(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    name: { type: "string" },
    node: { type: "string" },
  });
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"`);
  }
  const { record, nodes } = await load(values, "start");
  const dir = clusterDir(record.name);
  for (const n of nodes) {
    if (await isNodeAlive(n)) {
      ctx.io.stdout(`${n.name} (${n.address}): already running\n`);
      continue;
    }
    // Leftovers of a node killed hard (its daemons die with machined).
    if ((await processesOf(n.stateDir)).length > 0) await stopNode(n);
    n.pid = await launchNode({
      root: repositoryRoot(),
      stateDir: n.stateDir,
      address: n.address,
      // Only the first boot reads it: the node boots from its state after.
      configPath: join(dir, n.name, "config.yaml"),
      hostname: n.name,
      extraArgs: n.machinedArgs,
    });
    ctx.io.stdout(
      `${n.name} (${n.address}): started (machined pid ${n.pid})\n`,
    );
  }
  await writeClusterRecord(record);
  return 0;
}

/** `osctl cluster stop`. */
export const clusterStopCommand: Command = {
  name: "cluster stop",
  summary: "stop a local cluster's nodes, keeping their state",
  usage: STOP_USAGE,
  run: runStop,
};

/** `osctl cluster start`. */
export const clusterStartCommand: Command = {
  name: "cluster start",
  summary: "start a local cluster's stopped nodes from their state",
  usage: START_USAGE,
  run: runStart,
};
