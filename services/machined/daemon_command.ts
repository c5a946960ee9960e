import {
  certsDir,
  CHILD_ENV_KEYS,
  DAEMON_DIRS,
  denoPermissionFlags,
  imageV8FlagsArgs,
  type PermissionContext,
  type SupervisedDaemon,
} from "../../lib/layout/mod.ts";
import type { ProcessSpec } from "./runner/process_runner.ts";
import { SERVICE_IDENTITIES } from "../../lib/layout/mod.ts";

/** Where and how daemons run on this node. */
export interface DaemonLaunchContext extends PermissionContext {
  /** The source root holding deno.json and services/. */
  root: string;
  /**
   * Run bundles instead of sources: `<bundleDir>/<dir>.js` (the image's
   * /usr/lib/bronze), without deno.json.
   */
  bundleDir?: string;
  /** The Deno binary. */
  denoPath: string;
  /** The node's hostname. */
  hostname: string;
  /** nats://address:port */
  busUrl: string;
  /** networkd applies the network section (`--apply`; image mode). */
  applyNetwork?: boolean;
  /** udevd-lite loads the modules devices ask for (`--load-modules`; image mode). */
  loadModules?: boolean;
  /** Each service runs under its own identity (SERVICE_IDENTITIES; image mode). */
  dropPrivileges?: boolean;
}

/** The private part of a daemon's start: its bus password and extras. */
export interface DaemonSecretsInput {
  /** The daemon's per-boot NATS password. */
  busPassword: string;
  /** Daemon-specific secrets (trustd: {trustd: {caCrt, caKey, token}}). */
  extra?: Record<string, unknown>;
}

/** The command-line flags of a daemon (never secrets). */
export function daemonFlags(
  daemon: SupervisedDaemon,
  ctx: DaemonLaunchContext,
): string[] {
  const flags = ["--address", ctx.address, "--hostname", ctx.hostname];
  if (daemon === "apid") {
    flags.push("--certs", certsDir(ctx.stateDir, "apid"));
    if (ctx.controlPlane) flags.push("--control-plane");
  }
  if (daemon === "trustd") {
    flags.push("--certs", certsDir(ctx.stateDir, "trustd"));
  }
  if (daemon === "networkd" && ctx.applyNetwork) flags.push("--apply");
  if (daemon === "udevd" && ctx.loadModules) flags.push("--load-modules");
  return flags;
}

/**
 * The process of one daemon: `deno run --no-prompt <least permissions>
 * services/<dir>/main.ts <flags>`, its secrets JSON on stdin, and an
 * environment holding only CHILD_ENV_KEYS.
 */
export function daemonProcess(
  daemon: SupervisedDaemon,
  ctx: DaemonLaunchContext,
  secrets: DaemonSecretsInput,
  parentEnv: Record<string, string> = {},
): ProcessSpec {
  const env: Record<string, string> = {};
  for (const k of CHILD_ENV_KEYS) {
    if (parentEnv[k] !== undefined) env[k] = parentEnv[k];
  }
  env.NO_COLOR = "1"; // logs are captured, not shown on a terminal
  const payload = {
    ...secrets.extra,
    bus: { url: ctx.busUrl, user: daemon, pass: secrets.busPassword },
  };
  return {
    command: ctx.denoPath,
    args: [
      "run",
      "--no-prompt",
      // A bundle needs no config, lock file or network: everything is in it.
      // The image's V8 flags go with its bundles (their code cache needs them).
      ...(ctx.bundleDir
        ? ["--no-config", "--no-lock", "--cached-only", ...imageV8FlagsArgs()]
        : ["--config", `${ctx.root}/deno.json`]),
      ...denoPermissionFlags(daemon, ctx),
      ctx.bundleDir
        ? `${ctx.bundleDir}/${DAEMON_DIRS[daemon]}.js`
        : `${ctx.root}/services/${DAEMON_DIRS[daemon]}/main.ts`,
      ...daemonFlags(daemon, ctx),
    ],
    env,
    cwd: ctx.root,
    stdin: new TextEncoder().encode(JSON.stringify(payload)),
    ...(ctx.dropPrivileges ? { identity: SERVICE_IDENTITIES[daemon] } : {}),
  };
}
