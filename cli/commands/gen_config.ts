/** `osctl gen config`: a cluster's secrets, machine configs and client config. */
import { parseArgs } from "node:util";
import {
  applyConfigPatches,
  bundleCa,
  ConfigValidationError,
  generateMachineConfigs,
  generateSecretsBundle,
  loadSecretsBundle,
  type MachineConfig,
  machineConfigFromDocuments,
  parseEndpoint,
  type SecretsBundle,
  stringifyMachineConfig,
  stringifySecretsBundle,
} from "../../lib/config/mod.ts";
import {
  mintClientConfig,
  stringifyClientConfig,
} from "../../lib/clientconfig/mod.ts";
import { writeFileAtomic } from "../../lib/certdir/mod.ts";
import type { Command, CommandContext } from "../command.ts";
import { UsageError } from "../command.ts";
import { loadPatchFlags } from "./_patch_flags.ts";

const USAGE =
  `Usage: osctl gen config <cluster-name> <endpoint> [-o DIR] [--force]
                        [--with-secrets FILE] [--install-disk DISK]
                        [--install-image IMAGE] [--additional-sans LIST]

Writes secrets.yaml (the OS CA and the machine token), controlplane.yaml,
worker.yaml and osconfig (a client config with an os:admin certificate valid
for one year) into DIR (default: the current folder). Every file is mode 0600.
Existing files are never overwritten without --force.

<endpoint> is the control plane endpoint: https://HOST:PORT, HOST:PORT or HOST.
The client config's endpoints are -e/--endpoints if given, else HOST.

Flags:
  -o, --output DIR            where to write (default "."; also --output-dir)
      --force                 overwrite existing files
      --with-secrets FILE     reuse a secrets bundle instead of making one
                              (secrets.yaml is then not written)
      --install-disk DISK     machine.install.disk (e.g. /dev/vda)
      --install-image IMAGE   machine.install.image
      --additional-sans LIST  extra certificate SANs (comma separated)
      --config-patch PATCH    patch both machine configs (repeatable; @FILE
                              or the patch itself, as machineconfig patch)
      --config-patch-control-plane PATCH   patch controlplane.yaml only
      --config-patch-worker PATCH          patch worker.yaml only`;

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

async function run(args: string[], ctx: CommandContext): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        "output-dir": { type: "string" },
        output: { type: "string", short: "o" },
        force: { type: "boolean", default: false },
        "with-secrets": { type: "string" },
        "install-disk": { type: "string" },
        "install-image": { type: "string" },
        "additional-sans": { type: "string" },
        "config-patch": { type: "string", multiple: true },
        "config-patch-control-plane": { type: "string", multiple: true },
        "config-patch-worker": { type: "string", multiple: true },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values: v, positionals } = parsed;
  if (positionals.length !== 2) {
    throw new UsageError("expected <cluster-name> <endpoint>");
  }
  const [clusterName, endpoint] = positionals;
  if (v.output !== undefined && v["output-dir"] !== undefined) {
    throw new UsageError("give -o/--output or --output-dir, not both");
  }
  const dir = v.output ?? v["output-dir"] ?? ".";

  let secrets: SecretsBundle;
  try {
    secrets = v["with-secrets"]
      ? await loadSecretsBundle(v["with-secrets"])
      : await generateSecretsBundle();
  } catch (err) {
    ctx.io.stderr(`osctl gen config: ${(err as Error).message}\n`);
    return 1;
  }
  let configs;
  try {
    configs = generateMachineConfigs(clusterName, endpoint, {
      secrets,
      installDisk: v["install-disk"],
      installImage: v["install-image"],
      additionalSans: v["additional-sans"]?.split(",").map((s) => s.trim())
        .filter(Boolean),
    });
  } catch (err) {
    if (err instanceof ConfigValidationError) {
      ctx.io.stderr(`osctl gen config: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  let controlplaneYaml: string;
  let workerYaml: string;
  try {
    const patched = async (config: MachineConfig, extra: string[]) => {
      const patches = await loadPatchFlags([
        ...(v["config-patch"] ?? []),
        ...extra,
      ]);
      if (patches.length === 0) return stringifyMachineConfig(config);
      const docs = applyConfigPatches([config], patches);
      return stringifyMachineConfig(
        machineConfigFromDocuments(
          docs,
          `the patched ${config.machine.type} config`,
        ),
      );
    };
    controlplaneYaml = await patched(
      configs.controlplane,
      v["config-patch-control-plane"] ?? [],
    );
    workerYaml = await patched(configs.worker, v["config-patch-worker"] ?? []);
  } catch (err) {
    if (!(err instanceof Error)) throw err;
    ctx.io.stderr(`osctl gen config: ${err.message}\n`);
    return 1;
  }
  const endpoints = ctx.globals.endpoints.length > 0
    ? ctx.globals.endpoints
    : [parseEndpoint(endpoint).host];
  const client = await mintClientConfig(await bundleCa(secrets), {
    contextName: clusterName,
    roles: ["os:admin"],
    endpoints,
    nodes: ctx.globals.nodes,
  });

  const files: [string, string][] = [
    ["controlplane.yaml", controlplaneYaml],
    ["worker.yaml", workerYaml],
    ["osconfig", stringifyClientConfig(client)],
  ];
  if (!v["with-secrets"]) {
    files.unshift(["secrets.yaml", stringifySecretsBundle(secrets)]);
  }
  if (!v.force) {
    const taken: string[] = [];
    for (const [name] of files) {
      if (await exists(`${dir}/${name}`)) taken.push(`${dir}/${name}`);
    }
    if (taken.length > 0) {
      ctx.io.stderr(
        `osctl gen config: refusing to overwrite ${
          taken.map((t) => JSON.stringify(t)).join(", ")
        } (use --force)\n`,
      );
      return 1;
    }
  }
  await Deno.mkdir(dir, { recursive: true });
  for (const [name, text] of files) {
    // Every file holds a secret: the CA key, the machine token or a client key.
    await writeFileAtomic(`${dir}/${name}`, text, 0o600);
    ctx.io.stdout(`generated ${dir}/${name}\n`);
  }
  return 0;
}

/** The `gen config` command. */
export const genConfigCommand: Command = {
  name: "gen config",
  summary: "generate secrets, machine configs and a client config",
  usage: USAGE,
  localFlags: ["-o", "--output"],
  run,
};
