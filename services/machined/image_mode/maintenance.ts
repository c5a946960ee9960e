/**
 * Maintenance mode (as Talos has it): a node with no machine config brings
 * up the bus, the network (QEMU's user network, or the kernel's `ip=`) and
 * apid in its maintenance form, which serves only ApplyConfiguration and
 * Version, over server-only TLS with a certificate made at boot, whose
 * fingerprint is printed on the console. machined validates an applied
 * config (InvalidArgument naming every problem), persists it on the state
 * partition, stops the maintenance services and the boot goes on with it.
 * @module
 */
import { serveMaintenanceMethods } from "../../../lib/api/serve.ts";
import { Bus, natsServerConfig, randomPassword } from "../../../lib/bus/mod.ts";
import { ApiError } from "../../../lib/api_error/mod.ts";
import {
  type DaemonName,
  DAEMONS,
  NATS_PORT,
} from "../../../lib/constants/mod.ts";
import type { Libc } from "../../../lib/ffi/mod.ts";
import { createLogger, errorText } from "../../../lib/log/mod.ts";
import { writeFileAtomic } from "../../../lib/certdir/mod.ts";
import { certificateFingerprint } from "../../../lib/pem/mod.ts";
import { NODE_SERVER_NAME } from "../../../lib/certdir/mod.ts";
import {
  BUNDLE_DIR,
  certsDir,
  CHILD_ENV_KEYS,
  DENO_PATH,
  denoPermissionFlags,
  imageV8FlagsArgs,
  NATS_SERVER_PATH,
  SERVICE_IDENTITIES,
  SETPRIV_PATH,
} from "../../../lib/layout/mod.ts";
import { checkApplyRequest } from "../apply_config.ts";
import { type DaemonLaunchContext } from "../daemon_command.ts";
import { derivedHostname } from "../machined_options.ts";
import { daemonHealth } from "../daemon_health.ts";
import { nodeServices } from "../node_services.ts";
import { GroupProcessRunner } from "../runner/process_runner.ts";
import { grantServiceFiles } from "../service_files.ts";
import type { ServiceSpec } from "../runner/service.ts";
import { Supervisor } from "../runner/supervisor.ts";
import { readBuildInfo, versionInfo } from "../version_info.ts";
import { type FoundConfig, saveStateConfig } from "./config_source.ts";
import type { Console } from "./console.ts";
import { consoleSink } from "./console.ts";
import { bootstrapAddress, waitForLinks } from "./devices.ts";
import { IMAGE_BUS_HOST, waitForAddress } from "./image_platform.ts";
import type { KernelIp } from "./kernel_args.ts";
import { planNetwork } from "./network_plan.ts";

/** The maintenance apid's bundle in the image. */
export const MAINTENANCE_APID_BUNDLE = `${BUNDLE_DIR}/apid-maintenance.js`;

/** Options for {@linkcode runMaintenance}. */
export interface MaintenanceOptions {
  /** The console. */
  con: Console;
  /** libc (hostname). */
  libc: Libc;
  /** The kernel's `ip=`, if any. */
  kernelIp?: KernelIp;
  /** The mounted state partition, if any (the config is saved there). */
  stateDir?: string;
  /** machined's per-boot folder (bus config, certificates). */
  runDir: string;
  /** Ends maintenance mode without a config. */
  signal: AbortSignal;
}

/** A certificate for the maintenance API, made fresh at each boot. */
export async function maintenanceCertificate(
  address: string,
  hostname: string,
): Promise<{ ca: string; crt: string; key: string; fingerprint: string }> {
  const { CertificateAuthority } = await import("../../../lib/pki/mod.ts");
  const ca = await CertificateAuthority.create({
    commonName: `${hostname} maintenance`,
    ttlMs: 7 * 24 * 3600 * 1000,
  });
  const leaf = await ca.issueKeyPair({
    commonName: hostname,
    dnsNames: [NODE_SERVER_NAME, hostname],
    ipAddresses: [address],
    usages: ["serverAuth"],
    ttlMs: 7 * 24 * 3600 * 1000,
  });
  return {
    ca: ca.crtPem,
    crt: leaf.crt,
    key: leaf.key,
    fingerprint: await certificateFingerprint(leaf.crt),
  };
}

/**
 * Runs maintenance mode until a valid config is applied (returned) or
 * `signal` aborts (undefined).
 */
export async function runMaintenance(
  o: MaintenanceOptions,
): Promise<FoundConfig | undefined> {
  const { con } = o;
  const plan = planNetwork(undefined, o.kernelIp);
  const hostname = plan.network.hostname ?? derivedHostname(plan.address);
  o.libc.sethostname(hostname);
  const missing = await waitForLinks(plan.links, 5000, o.signal);
  if (missing.length > 0) {
    con.say(`warning: links not found: ${missing.join(", ")}`);
  }
  await bootstrapAddress(o.libc, plan.home.link, plan.home.cidr).catch((
    err,
  ) => con.say(`warning: ${errorText(err)}`));

  const log = createLogger("machined", { sink: consoleSink(con) });
  await Deno.mkdir(`${o.runDir}/run`, { recursive: true, mode: 0o700 });
  const apidCerts = certsDir(o.runDir, "apid");
  await Deno.mkdir(apidCerts, { recursive: true, mode: 0o700 });
  const cert = await maintenanceCertificate(plan.address, hostname);
  await writeFileAtomic(`${apidCerts}/ca.crt`, cert.ca, 0o644);
  await writeFileAtomic(`${apidCerts}/server.crt`, cert.crt, 0o644);
  await writeFileAtomic(`${apidCerts}/server.key`, cert.key, 0o600);

  const passwords = {} as Record<DaemonName, string>;
  for (const d of DAEMONS) passwords[d] = randomPassword();
  const natsConfigPath = `${o.runDir}/run/nats.conf`;
  await writeFileAtomic(
    natsConfigPath,
    natsServerConfig({
      host: IMAGE_BUS_HOST,
      port: NATS_PORT,
      passwords,
    }),
    0o600,
  );
  await grantServiceFiles(o.runDir, natsConfigPath);

  let bus: Bus | undefined;
  const launch: DaemonLaunchContext = {
    root: BUNDLE_DIR,
    denoPath: DENO_PATH,
    bundleDir: BUNDLE_DIR,
    busHost: IMAGE_BUS_HOST,
    applyNetwork: true,
    dropPrivileges: true,
    address: plan.address,
    hostname,
    stateDir: o.runDir,
    controlPlane: false,
    natsPort: NATS_PORT,
    busUrl: `nats://${IMAGE_BUS_HOST}:${NATS_PORT}`,
  };
  const parentEnv = Deno.env.toObject();
  const node = nodeServices({
    launch,
    natsServerPath: NATS_SERVER_PATH,
    natsConfigPath,
    passwords,
    host: {
      trustdSecrets: () => ({ caCrt: "", caKey: "", token: "" }),
      networkConfig: () => plan.network,
      daemonHealth: (d, signal) => daemonHealth(bus, d, signal),
      busHealth: () => undefined,
    },
    parentEnv,
  });
  const pick = (id: string) => node.find((s) => s.id === id)!;
  const env: Record<string, string> = { NO_COLOR: "1" };
  for (const k of CHILD_ENV_KEYS) {
    if (parentEnv[k] !== undefined) env[k] = parentEnv[k];
  }
  const apid: ServiceSpec = {
    id: "apid",
    // The address is in place (bootstrapped above); networkd adds the rest.
    dependsOn: ["nats"],
    prepare: (signal) => waitForAddress(plan.address, signal),
    process: () => ({
      command: DENO_PATH,
      args: [
        "run",
        "--no-prompt",
        "--no-config",
        "--no-lock",
        "--cached-only",
        ...imageV8FlagsArgs(),
        ...denoPermissionFlags("apid", launch),
        MAINTENANCE_APID_BUNDLE,
        "--address",
        plan.address,
        "--hostname",
        hostname,
        "--certs",
        apidCerts,
      ],
      env,
      cwd: BUNDLE_DIR,
      stdin: new TextEncoder().encode(JSON.stringify({
        bus: { url: launch.busUrl, user: "apid", pass: passwords.apid },
      })),
      identity: SERVICE_IDENTITIES.apid,
    }),
    health: (signal) => daemonHealth(bus, "apid", signal),
    graceMs: 5000,
  };
  const supervisor = new Supervisor([
    pick("nats"),
    { ...pick("networkd"), dependsOn: ["nats"] },
    apid,
  ], {
    runner: new GroupProcessRunner({
      setpriv: SETPRIV_PATH,
      setsid: null,
      pdeathsig: false,
    }),
    onEvent: (id, e) =>
      log.info("service", { service: id, state: e.state, message: e.message }),
  });

  let applied: ((f: FoundConfig) => void) | undefined;
  const done = new Promise<FoundConfig>((r) => (applied = r));
  const build = await readBuildInfo(BUNDLE_DIR);
  const stopping = new AbortController();
  const onAbort = () => stopping.abort();
  o.signal.addEventListener("abort", onAbort, { once: true });
  supervisor.startAll();
  try {
    while (!stopping.signal.aborted && !bus) {
      if (!supervisor.isUp("nats")) {
        await supervisor.waitForChange(stopping.signal);
        continue;
      }
      bus = await Bus.connect({
        url: launch.busUrl,
        user: "machined",
        pass: passwords.machined,
      }, { connectTimeoutMs: 10000 }).catch((err) => {
        log.warn("cannot connect to the bus yet", { error: errorText(err) });
        return undefined;
      });
    }
    if (!bus) return undefined;
    let taken = false;
    serveMaintenanceMethods(bus, {
      ApplyConfiguration: async (req, ctx) => {
        const checked = checkApplyRequest(req.data, req.mode);
        if (req.dryRun) {
          return {
            messages: [{
              metadata: undefined,
              warnings: [],
              mode: checked.mode,
              modeDetails: "Dry run: the config is valid; nothing was applied",
              diff: "",
            }],
          };
        }
        if (taken) {
          throw new ApiError(
            "Unavailable",
            "a config is being applied already",
          );
        }
        taken = true;
        const warnings: string[] = [];
        if (o.stateDir) {
          try {
            await saveStateConfig(o.stateDir, checked.yaml);
          } catch (err) {
            taken = false;
            throw new ApiError(
              "Internal",
              `cannot save the config: ${errorText(err)}`,
            );
          }
        } else {
          warnings.push(
            "no state partition: the config is used for this boot only",
          );
        }
        // Reply first, then leave maintenance mode.
        ctx.afterReply(() =>
          applied?.({
            config: checked.config,
            yaml: checked.yaml,
            source: "the maintenance API",
            persist: false,
          })
        );
        return {
          messages: [{
            metadata: undefined,
            warnings,
            mode: checked.mode,
            modeDetails: "Applied in maintenance mode: the node boots with it",
            diff: "",
          }],
        };
      },
      Version: () =>
        Promise.resolve({
          messages: [{
            metadata: undefined,
            version: versionInfo(build),
            platform: { name: "metal", mode: "maintenance" },
          }],
        }),
    });
    // The banner once apid listens.
    while (!stopping.signal.aborted && !supervisor.isUp("apid")) {
      await supervisor.waitForChange(stopping.signal);
    }
    if (!stopping.signal.aborted) {
      con.say(
        `maintenance mode: apid on ${plan.address}:50000 (server-only TLS), certificate SHA-256 ${cert.fingerprint}`,
      );
      con.say(
        `apply a machine config with: osctl apply-config --insecure -n ${plan.address} -f config.yaml`,
      );
    }
    const result = await Promise.race([
      done,
      new Promise<undefined>((resolve) => {
        if (stopping.signal.aborted) resolve(undefined);
        stopping.signal.addEventListener("abort", () => resolve(undefined), {
          once: true,
        });
      }),
    ]);
    return result;
  } finally {
    o.signal.removeEventListener("abort", onAbort);
    for (const id of [...supervisor.order].reverse()) {
      if (id === "nats") {
        await bus?.close().catch(() => {});
        bus = undefined;
      }
      await supervisor.stop(id);
    }
    await bus?.close().catch(() => {});
    con.say("maintenance mode ended");
  }
}
