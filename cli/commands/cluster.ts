/**
 * `osctl cluster create|destroy|show`: a local cluster of process-mode nodes
 * on loopback addresses, its state and logs under ~/.osctl/clusters/NAME/.
 */
import { stringifyYaml } from "../../lib/config/mod.ts";
import { cleanMessage, errorLine } from "../client/errors.ts";
import {
  MachineServiceService,
  type ServiceListResponse,
  type VersionResponse,
} from "../../lib/api/gen/machine/machine.ts";
import {
  clientConfigPath,
  contextTls,
  loadClientConfig,
  saveClientConfig,
} from "../../lib/clientconfig/mod.ts";
import type { Command, CommandContext } from "../command.ts";
import { UsageError } from "../command.ts";
import { ApiClient } from "../client/api_client.ts";
import { parseCommandArgs } from "../client/args.ts";
import { formatTable, reportNodeErrors } from "../client/output.ts";
import { splitReplies } from "../client/reply.ts";
import { createCluster } from "../cluster/create.ts";
import { stopClusterProcesses } from "../cluster/destroy.ts";
import { createQemuCluster } from "../cluster/qemu_create.ts";
import { stopQemuCluster } from "../cluster/qemu_destroy.ts";
import { isNodeAlive } from "../cluster/processes.ts";
import {
  clusterDir,
  type ClusterRecord,
  readClusterRecord,
} from "../cluster/state.ts";
import { servicesTable } from "./service.ts";

const DEFAULT_NAME = "bronze";

const CREATE_USAGE =
  `Usage: osctl cluster create [--name bronze] [--controlplanes 1] [--workers 2]
                            [--nodes 3] [--cidr 127.5.0.0/24] [--wait 180s]
       osctl cluster create --provisioner qemu [--nodes 2] [--cidr 10.5.0.0/24]
                            [--memory 1024] [--cpus 2] [--image DIR] [--wait 10m]

Starts a local cluster of process-mode nodes: --controlplanes control planes
then --workers workers (or --nodes in all, the first a control plane), at
.2, .3, ... of the CIDR (inside 127.0.0.0/8). Waits until every node's apid
answers, merges a context named after the cluster into the client config
(and makes it current), bootstraps etcd on the first control plane and waits
until every control plane is a healthy etcd member, then prints the nodes'
services. The nodes keep running; state and logs live under
~/.osctl/clusters/NAME/.

--provisioner qemu boots the Bronze image in QEMU VMs instead (TCG unless
BRONZE_QEMU_ACCEL=kvm|auto; the image is built from this checkout, or taken
from --image DIR): the VMs share a network on the host's loopback (QEMU
socket networking) where they have .2, .3, ... of the CIDR, and each apid is
forwarded from a port on 127.0.0.1; the context dials the control plane's
and names the nodes by their VM addresses.`;

const DESTROY_USAGE = `Usage: osctl cluster destroy [--name bronze]

Stops every process of the cluster and removes its state and its context.`;

const SHOW_USAGE = `Usage: osctl cluster show [--name bronze]

Lists the cluster's nodes and whether each one's apid answers.`;

function parseName(value: string | undefined): string {
  const name = value ?? DEFAULT_NAME;
  clusterDir(name); // validates
  return name;
}

function parseWait(value: string | undefined): number {
  if (value === undefined) return 180_000;
  const m = /^(\d+)(ms|s|m)?$/.exec(value);
  if (!m) {
    throw new UsageError(
      `--wait ${JSON.stringify(value)}: want a duration like 90s or 3m`,
    );
  }
  const n = Number(m[1]);
  return m[2] === "ms" ? n : m[2] === "m" ? n * 60_000 : n * 1000;
}

async function runCreate(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    name: { type: "string" },
    nodes: { type: "string" },
    controlplanes: { type: "string" },
    workers: { type: "string" },
    cidr: { type: "string" },
    wait: { type: "string" },
    provisioner: { type: "string" },
    memory: { type: "string" },
    cpus: { type: "string" },
    image: { type: "string" },
  });
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"`);
  }
  const provisioner = values.provisioner ?? "process";
  if (provisioner === "qemu") {
    for (const f of ["controlplanes", "workers"] as const) {
      if (values[f] !== undefined) {
        throw new UsageError(`--${f} is for --provisioner process`);
      }
    }
    return await runCreateQemu(values, ctx);
  }
  if (provisioner !== "process") {
    throw new UsageError(
      `--provisioner ${JSON.stringify(provisioner)}: want process or qemu`,
    );
  }
  for (const f of ["memory", "cpus", "image"] as const) {
    if (values[f] !== undefined) {
      throw new UsageError(`--${f} is for --provisioner qemu`);
    }
  }
  let count = values.nodes === undefined ? 3 : Number(values.nodes);
  if (!/^\d+$/.test(values.nodes ?? "3") || count < 1 || count > 64) {
    throw new UsageError(
      `--nodes ${
        JSON.stringify(values.nodes)
      }: want a whole number from 1 to 64`,
    );
  }
  let controlPlanes = 1;
  if (values.controlplanes !== undefined || values.workers !== undefined) {
    if (values.nodes !== undefined) {
      throw new UsageError(
        "--nodes and --controlplanes/--workers do not go together",
      );
    }
    controlPlanes = positiveInt(values.controlplanes, "--controlplanes", 1, 16);
    const workers = values.workers === "0"
      ? 0
      : positiveInt(values.workers, "--workers", 2, 63);
    count = controlPlanes + workers;
    if (count > 64) {
      throw new UsageError(`${count} nodes: at most 64`);
    }
  }
  const name = parseName(values.name);
  const osconfig = clientConfigPath({ osconfig: ctx.globals.osconfig });
  const record = await createCluster({
    name,
    nodes: count,
    controlPlanes,
    cidr: values.cidr ?? "127.5.0.0/24",
    osconfig,
    waitMs: parseWait(values.wait),
    progress: (line) => ctx.io.stderr(`${line}\n`),
    signal: ctx.signal,
  });
  ctx.io.stdout(
    nodesTable(record, new Map(record.nodes.map((n) => [n.address, "yes"]))),
  );
  ctx.io.stdout("\n");
  return await printServices(record, osconfig, ctx);
}

function positiveInt(
  value: string | undefined,
  flag: string,
  fallback: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > max) {
    throw new UsageError(
      `${flag} ${JSON.stringify(value)}: want a whole number from 1 to ${max}`,
    );
  }
  return n;
}

async function runCreateQemu(
  values: Record<string, string | undefined>,
  ctx: CommandContext,
): Promise<number> {
  const name = parseName(values.name);
  const osconfig = clientConfigPath({ osconfig: ctx.globals.osconfig });
  const memory = positiveInt(values.memory, "--memory", 1024, 65536);
  if (memory < 256) {
    throw new UsageError(`--memory ${memory}: a node needs at least 256 MiB`);
  }
  const record = await createQemuCluster({
    name,
    nodes: positiveInt(values.nodes, "--nodes", 2, 16),
    cidr: values.cidr ?? "10.5.0.0/24",
    osconfig,
    waitMs: values.wait === undefined ? undefined : parseWait(values.wait),
    memoryMiB: memory,
    cpus: positiveInt(values.cpus, "--cpus", 2, 64),
    imageDir: values.image,
    progress: (line) => ctx.io.stderr(`${line}\n`),
    signal: ctx.signal,
  });
  ctx.io.stdout(
    nodesTable(record, new Map(record.nodes.map((n) => [n.address, "yes"]))),
  );
  ctx.io.stdout("\n");
  return await printServices(record, osconfig, ctx);
}

async function printServices(
  record: ClusterRecord,
  osconfig: string,
  ctx: CommandContext,
): Promise<number> {
  const client = await clusterClient(record, osconfig);
  try {
    const reply: ServiceListResponse = await client.unary(
      MachineServiceService.serviceList,
      { metadata: undefined },
      { timeoutMs: 15_000, signal: ctx.signal },
    );
    const { good, errors } = splitReplies(reply.messages, client.defaultNode);
    ctx.io.stdout(
      servicesTable(
        good.map((m) => ({
          node: m.metadata?.hostname ?? "",
          services: m.services,
        })),
      ),
    );
    return reportNodeErrors(ctx.io, errors);
  } finally {
    client.close();
  }
}

async function clusterClient(
  record: ClusterRecord,
  osconfig: string,
): Promise<ApiClient> {
  const config = await loadClientConfig(osconfig);
  const context = config.contexts[record.name];
  if (!context) {
    throw new Error(`context "${record.name}" is not in ${osconfig}`);
  }
  const cp = record.nodes[0];
  return new ApiClient({
    endpoints: [cp.apiPort ? `127.0.0.1:${cp.apiPort}` : cp.address],
    nodes: record.nodes.map((n) => n.address),
    tls: contextTls(context),
  });
}

function nodesTable(
  record: ClusterRecord,
  answers: Map<string, string>,
  dead: ReadonlySet<number> = new Set(),
): string {
  return formatTable(
    [
      "NAME",
      "TYPE",
      "ADDRESS",
      record.provisioner === "qemu" ? "QEMU PID" : "MACHINED PID",
      "ANSWERS",
    ],
    record.nodes.map((
      n,
    ) => [
      n.name,
      n.type,
      n.address,
      dead.has(n.pid) ? `${n.pid} (dead)` : String(n.pid),
      answers.get(n.address) ?? "no",
    ]),
  );
}

async function requireRecord(name: string): Promise<ClusterRecord> {
  const record = await readClusterRecord(name);
  if (!record) {
    throw new Error(
      `no cluster named "${name}" (${clusterDir(name)} has no cluster.json)`,
    );
  }
  return record;
}

async function runDestroy(
  args: string[],
  ctx: CommandContext,
): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    name: { type: "string" },
  });
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"`);
  }
  const name = parseName(values.name);
  const record = await requireRecord(name);
  const dir = clusterDir(name);
  const killed = record.provisioner === "qemu"
    ? await stopQemuCluster(record)
    : await stopClusterProcesses(record, dir);
  if (killed.length > 0) {
    ctx.io.stderr(
      `killed ${killed.length} process(es) that did not stop in time\n`,
    );
  }
  await Deno.remove(dir, { recursive: true });
  const osconfig = clientConfigPath({ osconfig: ctx.globals.osconfig });
  try {
    const config = await loadClientConfig(osconfig);
    if (config.contexts[name]) {
      delete config.contexts[name];
      if (config.context === name) {
        config.context = Object.keys(config.contexts)[0] ?? "";
      }
      await saveClientConfig(osconfig, config);
    }
  } catch (err) {
    if (!(err instanceof Error && err.cause instanceof Deno.errors.NotFound)) {
      throw err;
    }
  }
  ctx.io.stderr(`destroyed cluster "${name}"\n`);
  return 0;
}

async function runShow(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    name: { type: "string" },
  });
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"`);
  }
  const record = await requireRecord(parseName(values.name));
  const osconfig = clientConfigPath({ osconfig: ctx.globals.osconfig });
  const answers = new Map<string, string>();
  const dead = new Set<number>();
  for (const n of record.nodes) {
    const alive = await isNodeAlive(n);
    if (!alive) dead.add(n.pid);
    answers.set(n.address, alive ? "no" : "no (machined not running)");
  }
  try {
    const client = await clusterClient(record, osconfig);
    try {
      const reply: VersionResponse = await client.unary(
        MachineServiceService.version,
        { metadata: undefined },
        { timeoutMs: 10_000, signal: ctx.signal },
      );
      for (const m of reply.messages) {
        const host = m.metadata?.hostname ?? "";
        answers.set(
          host,
          m.metadata?.error ? `no (${cleanMessage(m.metadata.error)})` : "yes",
        );
      }
    } finally {
      client.close();
    }
  } catch (err) {
    ctx.io.stderr(
      `WARNING: cannot reach the control plane: ${errorLine(err)}\n`,
    );
  }
  const ok = [...answers.values()].every((a) => a === "yes") ? 0 : 1;
  if (ctx.globals.output !== "table") {
    const facts = {
      name: record.name,
      provisioner: record.provisioner,
      cidr: record.cidr,
      dir: clusterDir(record.name),
      nodes: record.nodes.map((n) => ({
        name: n.name,
        type: n.type,
        address: n.address,
        pid: n.pid,
        running: !dead.has(n.pid),
        answers: answers.get(n.address) === "yes",
        // "no (why)" in the table: the why, else "" when it answers.
        error: answers.get(n.address) === "yes"
          ? ""
          : (answers.get(n.address) ?? "no").replace(/^no \((.*)\)$/, "$1"),
      })),
    };
    ctx.io.stdout(
      ctx.globals.output === "json"
        ? JSON.stringify(facts, null, 2) + "\n"
        : stringifyYaml(facts),
    );
    return ok;
  }
  ctx.io.stdout(
    `cluster "${record.name}" (${record.provisioner}, ${record.cidr}), state in ${
      clusterDir(record.name)
    }\n`,
  );
  ctx.io.stdout(nodesTable(record, answers, dead));
  return ok;
}

/** `osctl cluster create`. */
export const clusterCreateCommand: Command = {
  name: "cluster create",
  summary: "start a local cluster of process-mode nodes or QEMU VMs",
  usage: CREATE_USAGE,
  localFlags: ["--nodes"],
  run: runCreate,
};

/** `osctl cluster destroy`. */
export const clusterDestroyCommand: Command = {
  name: "cluster destroy",
  summary: "stop a local cluster and remove its state",
  usage: DESTROY_USAGE,
  run: runDestroy,
};

/** `osctl cluster show`. */
export const clusterShowCommand: Command = {
  name: "cluster show",
  summary: "list a local cluster's nodes and whether each answers",
  usage: SHOW_USAGE,
  run: runShow,
};
