/**
 * `osctl cluster create --provisioner qemu`: a local cluster of VMs booting
 * the Bronze image under QEMU (TCG unless BRONZE_QEMU_ACCEL says otherwise),
 * each with its own disk copy, its machine config on QEMU's fw_cfg, and two
 * NICs:
 * - eth0, QEMU user networking (restricted: nothing leaves the VM) whose
 *   only use is the forward 127.0.0.1:<port> -> <node address>:50000 so the
 *   host reaches each apid. Its network is the cluster CIDR with QEMU at .1;
 *   the node holds its address there as a /32 with a route to .1, so
 *   replies to the host go back this way;
 * - eth1, the VM network: QEMU socket networking over UDP multicast on the
 *   host's loopback, one segment shared by the cluster's VMs, where each
 *   node has its address (.2, .3, ... of the CIDR, the first the control
 *   plane) and the nodes reach one another (trustd, apid fan-out).
 * The client config's context dials the control plane's forwarded port and
 * names the nodes by their VM-network addresses, so fan-out goes through
 * the control plane's apid. QEMU runs daemonized; state, disks and consoles
 * live under ~/.osctl/clusters/NAME/.
 * @module
 */
import { join } from "node:path";
import { cachedBuild } from "../../image/cached_build.ts";
import { composeCmdline } from "../../lib/layout/mod.ts";
import {
  type BuildManifest,
  type BuiltImage,
  builtImageAt,
  OUTPUT_NAMES,
} from "../../image/pipeline/build_image.ts";
import { findTool } from "../../image/pipeline/exec.ts";
import { chooseAccel, qemuArgs } from "../../image/qemu.ts";
import {
  generateMachineConfigs,
  generateSecretsBundle,
  type MachineConfig,
  stringifyMachineConfig,
  stringifySecretsBundle,
} from "../../lib/config/mod.ts";
import { formatIpv4, parseIpv4Cidr } from "./addresses.ts";
import { nodeName, publishContextAndWait, repositoryRoot } from "./create.ts";
import { stopQemuCluster } from "./qemu_destroy.ts";
import {
  assertNotRunning,
  clusterDir,
  type ClusterNode,
  type ClusterRecord,
  writeClusterRecord,
} from "./state.ts";

/** Options for {@linkcode createQemuCluster}. */
export interface CreateQemuClusterOptions {
  /** Cluster name. */
  name: string;
  /** Number of VMs, the first a control plane. */
  nodes: number;
  /** The VM network, e.g. 10.5.0.0/24 (QEMU at .1, nodes from .2). */
  cidr: string;
  /** The client config to merge the context into. */
  osconfig: string;
  /** How long to wait for every apid (ms, default 10 min: TCG is slow). */
  waitMs?: number;
  /** Guest memory per VM in MiB (default 1024). */
  memoryMiB?: number;
  /** vCPUs per VM (default 2). */
  cpus?: number;
  /** A built image folder (default: the cached build of this checkout). */
  imageDir?: string;
  /** The folder holding clusters (default ~/.osctl/clusters). */
  clustersRoot?: string;
  /** Progress lines. */
  progress?: (line: string) => void;
  /** Cancels the wait (the VMs are then stopped). */
  signal?: AbortSignal;
}

/**
 * The VM-network addresses of the nodes: .2, .3, ... of the CIDR (.1 is
 * QEMU's side). The range must not be loopback and must fit the nodes.
 */
export function vmAddresses(
  cidr: string,
  count: number,
): { gateway: string; prefix: number; addresses: string[] } {
  const c = parseIpv4Cidr(cidr);
  if ((c.network >>> 24) === 127 || c.prefix > 29 || c.prefix < 8) {
    throw new Error(
      `Cannot use CIDR "${cidr}" for VMs: want a private range like 10.5.0.0/24 (prefix 8 to 29, not loopback)`,
    );
  }
  if (!Number.isInteger(count) || count < 1 || count > 16) {
    throw new Error(`Cannot make ${count} VMs: choose 1 to 16`);
  }
  if (count + 2 >= 2 ** (32 - c.prefix)) {
    throw new Error(`Cannot fit ${count} VMs in "${cidr}"`);
  }
  return {
    gateway: formatIpv4(c.network + 1),
    prefix: c.prefix,
    addresses: Array.from(
      { length: count },
      (_, i) => formatIpv4(c.network + 2 + i),
    ),
  };
}

/** The network section of one VM (see the module doc). */
export function vmNetworkConfig(
  hostname: string,
  address: string,
  prefix: number,
  gateway: string,
): NonNullable<MachineConfig["machine"]["network"]> {
  return {
    hostname,
    interfaces: [
      {
        name: "eth0",
        addresses: [`${address}/32`],
        routes: [{ network: `${gateway}/32` }],
      },
      { name: "eth1", addresses: [`${address}/${prefix}`] },
    ],
  };
}

/** A locally administered MAC for node `index` of the VM network. */
export function vmMac(index: number, salt: number): string {
  const b = [0x52, 0x54, 0x00, salt & 0xff, (salt >> 8) & 0xff, index & 0xff];
  return b.map((x) => x.toString(16).padStart(2, "0")).join(":");
}

function freeTcpPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function loadImage(
  options: CreateQemuClusterOptions,
  progress: (l: string) => void,
): Promise<BuiltImage> {
  if (options.imageDir) {
    const manifest = JSON.parse(
      await Deno.readTextFile(
        join(options.imageDir, OUTPUT_NAMES.manifest),
      ),
    ) as BuildManifest;
    return builtImageAt(options.imageDir, manifest);
  }
  progress("building the image (reused when the sources are unchanged)");
  return await cachedBuild({
    repoRoot: repositoryRoot().replace(/\/$/, ""),
    signal: options.signal,
  });
}

async function startQemu(args: string[]): Promise<void> {
  const qemu = findTool("qemu-system-x86_64");
  if (!qemu) {
    throw new Error(
      "qemu-system-x86_64 not found; install it with: apt-get install -y qemu-system-x86",
    );
  }
  const out = await new Deno.Command(qemu, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `QEMU did not start (exit ${out.code}): ${
        new TextDecoder().decode(out.stderr).trim()
      }`,
    );
  }
}

/**
 * Creates and boots the VMs, merges the context, waits for every apid;
 * on failure stops the VMs (their consoles are kept for a look).
 */
export async function createQemuCluster(
  options: CreateQemuClusterOptions,
): Promise<ClusterRecord> {
  const progress = options.progress ?? (() => {});
  const net = vmAddresses(options.cidr, options.nodes);
  const root = options.clustersRoot;
  const dir = clusterDir(options.name, root);
  await assertNotRunning(options.name, root);
  const image = await loadImage(options, progress);
  if (!image.disk) throw new Error(`The image in ${image.outDir} has no disk`);
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });

  progress(`generating secrets and configs for cluster "${options.name}"`);
  const secrets = await generateSecretsBundle();
  const configs = generateMachineConfigs(options.name, net.addresses[0], {
    secrets,
  });
  await Deno.writeTextFile(
    join(dir, "secrets.yaml"),
    stringifySecretsBundle(secrets),
    { mode: 0o600 },
  );
  const salt = Math.floor(Math.random() * 0xffff);
  const mcast = `230.5.${(salt >> 8) & 0xff}.${salt & 0xff}:${freeTcpPort()}`;
  const record: ClusterRecord = {
    name: options.name,
    cidr: options.cidr,
    provisioner: "qemu",
    vmNetwork: mcast,
    nodes: [],
    created: new Date().toISOString(),
  };
  const accel = await chooseAccel(image.boot.kernel);
  try {
    for (const [i, address] of net.addresses.entries()) {
      const name = nodeName(options.name, i);
      const nodeDir = join(dir, name);
      await Deno.mkdir(nodeDir, { recursive: true, mode: 0o700 });
      const config: MachineConfig = structuredClone(
        i === 0 ? configs.controlplane : configs.worker,
      );
      config.machine.network = vmNetworkConfig(
        name,
        address,
        net.prefix,
        net.gateway,
      );
      const configPath = join(nodeDir, "config.yaml");
      await Deno.writeTextFile(configPath, stringifyMachineConfig(config), {
        mode: 0o600,
      });
      const disk = join(nodeDir, "disk.raw");
      const cp = await new Deno.Command("cp", {
        args: ["--sparse=always", image.disk, disk],
      }).output();
      if (!cp.success) throw new Error(`Cannot copy the disk to ${disk}`);
      const apiPort = freeTcpPort();
      const args = [
        ...qemuArgs({
          ...image.boot,
          cmdline: composeCmdline(image.cmdline, []),
          disk,
          diskSnapshot: false,
          memoryMiB: options.memoryMiB ?? 1024,
          cpus: options.cpus ?? 2,
          accel,
          forwards: [{
            hostPort: apiPort,
            guestPort: 50000,
            guestAddress: address,
          }],
          userNetwork: { net: options.cidr, host: net.gateway },
          vmNetwork: { mcast, mac: vmMac(i + 2, salt) },
          fwCfg: [{ name: "opt/bronze/config", file: configPath }],
          // A guest reboot resets the VM (the state partition keeps the config).
          noReboot: false,
          serialFile: join(nodeDir, "console.log"),
        }, join(nodeDir, "qmp.sock")),
        "-name",
        `bronze-${name}`,
        "-daemonize",
        "-pidfile",
        join(nodeDir, "qemu.pid"),
      ];
      await startQemu(args);
      const pid = Number(
        (await Deno.readTextFile(join(nodeDir, "qemu.pid"))).trim(),
      );
      const node: ClusterNode = {
        name,
        address,
        type: i === 0 ? "controlplane" : "worker",
        pid,
        stateDir: nodeDir,
        apiPort,
      };
      record.nodes.push(node);
      await writeClusterRecord(record, root);
      progress(
        `started ${node.type} ${name} at ${address} (QEMU pid ${pid}, apid on 127.0.0.1:${apiPort}, console ${
          join(nodeDir, "console.log")
        })`,
      );
    }

    await publishContextAndWait(record, secrets, {
      osconfig: options.osconfig,
      endpoint: `127.0.0.1:${record.nodes[0].apiPort!}`,
      nodes: net.addresses,
      waitMs: options.waitMs ?? 600_000,
      progress,
      signal: options.signal,
    });
    return record;
  } catch (err) {
    progress(
      `cluster "${options.name}" did not come up; stopping its VMs (consoles kept in ${dir})`,
    );
    await stopQemuCluster(record, { graceMs: 0 });
    throw err;
  }
}
