/**
 * machined as PID 1 in the image (`--mode image`): mounts, early modules,
 * the state and ephemeral partitions, the machine config (or maintenance
 * mode until one is applied), hostname and network plan, then the node's
 * services under {@linkcode Machined} with the image platform, an orphan
 * reaper, and at the end: sync, unmount, reboot(2). It never exits: a fatal
 * error is printed on the console and the machine powers off.
 * @module
 */
import type { MachineConfig } from "../../../lib/config/mod.ts";
import {
  Libc,
  RB_AUTOBOOT,
  RB_DISABLE_CAD,
  RB_POWER_OFF,
  Sys,
} from "../../../lib/ffi/mod.ts";
import { errorText } from "../../../lib/log/mod.ts";
import { certificateFingerprint } from "../../../lib/pem/mod.ts";
import {
  certsDir,
  EARLY_MODULES,
  EPHEMERAL_MOUNT,
  ETCD_DATA_DIR,
  ETCD_PATH,
  IMAGE_MODULES,
  NATS_SERVER_PATH,
  SETPRIV_PATH,
  STATE_MOUNT,
} from "../../../lib/layout/mod.ts";
import { Machined } from "../machined.ts";
import { derivedHostname } from "../machined_options.ts";
import { applyKernelHardening } from "./kernel_hardening.ts";
import { GroupProcessRunner } from "../runner/process_runner.ts";
import {
  acquireConfig,
  type FoundConfig,
  saveStateConfig,
  systemConfigSources,
} from "./config_source.ts";
import { type Console, consoleSink, serialConsole } from "./console.ts";
import {
  bootstrapAddress,
  loadEarlyModules,
  loopbackUp,
  waitForLinks,
  waitForValue,
} from "./devices.ts";
import { imagePlatform } from "./image_platform.ts";
import {
  BOOT_PRIORITY_DEADLINE_MS,
  BootPriority,
  BootPriorityRunner,
} from "./boot_priority.ts";
import { kernelArg, parseIpArg } from "./kernel_args.ts";
import { runMaintenance } from "./maintenance.ts";
import {
  EARLY_MOUNTS,
  EPHEMERAL_FLAGS,
  mountMissing,
  STATE_FLAGS,
  unmountAll,
} from "./mounts.ts";
import { planNetwork } from "./network_plan.ts";
import { powerButtons, watchPowerButton } from "./power_button.ts";
import { findByLabel, SYSFS_BLOCK_TREE } from "./partitions.ts";
import { OrphanReaper, procZombieChildren, TrackingRunner } from "./reaper.ts";

/** GPT name / ext4 label of the state partition. */
export const STATE_LABEL = "BRONZE-STATE";
/** GPT name / ext4 label of the ephemeral partition. */
export const EPHEMERAL_LABEL = "BRONZE-EPHEMERAL";
/** machined's per-boot state (bus config, node certificates): a tmpfs. */
export const RUN_STATE_DIR = "/run/bronze";

/**
 * The late modules and the power button wait for the services to be up, or
 * this long (ms) if some never are.
 */
export const LATE_HARDWARE_MS = 10_000;

/**
 * How often PID 1 gives its free C-heap memory back (ms): the boot leaves
 * ~8 MB of it resident (V8's compiler zones, I/O buffers), and so do bursts
 * of API work later.
 */
export const MALLOC_TRIM_MS = 60_000;

/** How the machine ends. */
type PowerAction = "poweroff" | "reboot";

/** What the boot steps share. */
interface BootContext {
  sys: Sys;
  libc: Libc;
  con: Console;
  /** Partitions mounted by us, unmounted at the end. */
  mounted: string[];
  /** Aborted by SIGTERM/SIGINT before the services run. */
  stop: AbortController;
  /** Whether {@linkcode lateHardware} ran (maintenance, then the node). */
  lateDone?: boolean;
}

async function mountPartition(
  ctx: BootContext,
  label: string,
  target: string,
  flags: number,
  mode: number,
): Promise<boolean> {
  const dev = await waitForValue(
    () => findByLabel(SYSFS_BLOCK_TREE, label),
    2000,
    ctx.stop.signal,
  );
  if (!dev) {
    ctx.con.say(`no partition labelled ${label}: ${target} stays empty`);
    return false;
  }
  ctx.sys.mount(dev.devPath, target, "ext4", flags);
  ctx.mounted.push(target);
  // mkfs leaves the root folder 0755; the services run under their own uids
  // and reach only what is made theirs (etcd its data on the ephemeral one).
  await Deno.chmod(target, mode);
  ctx.con.say(`mounted ${dev.devPath} (${label}) on ${target}`);
  return true;
}

async function readyLine(address: string, hostname: string): Promise<string> {
  let fingerprint = "unknown";
  try {
    const pem = await Deno.readTextFile(
      `${certsDir(RUN_STATE_DIR, "apid")}/server.crt`,
    );
    fingerprint = await certificateFingerprint(pem);
  } catch (err) {
    fingerprint = `unreadable (${errorText(err)})`;
  }
  return `ready: ${hostname} at ${address}, apid on ${address}:50000, API certificate SHA-256 ${fingerprint}`;
}

async function loadModuleSet(
  ctx: BootContext,
  names: readonly string[],
): Promise<void> {
  const modules = await loadEarlyModules(
    ctx.libc,
    names,
    `/lib/modules/${Deno.osRelease()}`,
  );
  ctx.con.say(`loaded ${modules.loaded.length} kernel modules`);
  for (const f of modules.failed) {
    ctx.con.say(`warning: module not loaded: ${f}`);
  }
}

/**
 * What the node needs soon but not to boot: the rest of the image's
 * modules (loaded off the event loop while the services start), then the
 * power button (ACPI) as a clean shutdown. Runs once.
 */
function lateHardware(ctx: BootContext): void {
  if (ctx.lateDone) return;
  ctx.lateDone = true;
  const late = IMAGE_MODULES.filter((m) => !EARLY_MODULES.includes(m));
  loadModuleSet(ctx, late).then(() => {
    for (const button of powerButtons()) {
      watchPowerButton(button, () => {
        if (!ctx.stop.signal.aborted) {
          ctx.con.say("power button pressed: shutting down");
          ctx.stop.abort();
        }
      }, ctx.stop.signal).catch((err) =>
        ctx.con.say(`warning: power button ${button}: ${errorText(err)}`)
      );
    }
  }).catch((err) => ctx.con.say(`warning: late hardware: ${errorText(err)}`));
}

async function boot(ctx: BootContext): Promise<PowerAction> {
  const { libc, con } = ctx;
  await loadModuleSet(ctx, EARLY_MODULES);
  await loopbackUp(libc);

  const hasState = await mountPartition(
    ctx,
    STATE_LABEL,
    STATE_MOUNT,
    STATE_FLAGS,
    0o700,
  );
  const hasEphemeral = await mountPartition(
    ctx,
    EPHEMERAL_LABEL,
    EPHEMERAL_MOUNT,
    EPHEMERAL_FLAGS,
    0o711,
  );
  if (hasEphemeral) {
    await Deno.mkdir(`${EPHEMERAL_MOUNT}/lib`, {
      recursive: true,
      mode: 0o711,
    });
  }
  const stateDir = hasState ? STATE_MOUNT : undefined;

  const cmdline = await Deno.readTextFile("/proc/cmdline");
  let kernelIp;
  try {
    const ip = kernelArg(cmdline, "ip");
    kernelIp = ip === undefined ? undefined : parseIpArg(ip);
  } catch (err) {
    con.say(`warning: ${errorText(err)}`);
  }

  let found: FoundConfig | undefined = await acquireConfig(
    systemConfigSources(stateDir),
    { warn: (m) => con.say(`warning: ${m}`) },
  );
  if (found) {
    con.say(`machine config from ${found.source}`);
  } else {
    con.say("no machine config: maintenance mode");
    lateHardware(ctx);
    found = await runMaintenance({
      con,
      libc,
      kernelIp,
      stateDir,
      runDir: RUN_STATE_DIR,
      signal: ctx.stop.signal,
    });
    if (!found) return "poweroff"; // stopped while waiting
    con.say(`machine config applied through the API`);
  }
  if (found.persist && stateDir) {
    await saveStateConfig(stateDir, found.yaml);
    con.say(`machine config written to ${stateDir}`);
  }
  return await runNode(ctx, found.config, {
    kernelIp,
    stateDir,
    hasEphemeral,
  });
}

async function runNode(
  ctx: BootContext,
  config: MachineConfig,
  o: {
    kernelIp: ReturnType<typeof parseIpArg>;
    stateDir?: string;
    hasEphemeral: boolean;
  },
): Promise<PowerAction> {
  const { libc, con } = ctx;
  const plan = planNetwork(config.machine.network, o.kernelIp);
  const hostname = plan.network.hostname ?? derivedHostname(plan.address);
  libc.sethostname(hostname);
  con.say(
    `hostname ${hostname}, node address ${plan.address} (network from the ${plan.source})`,
  );
  const missing = await waitForLinks(plan.links, 5000, ctx.stop.signal);
  if (missing.length > 0) {
    con.say(`warning: links not found: ${missing.join(", ")}`);
  }
  if (ctx.stop.signal.aborted) return "poweroff";
  try {
    await bootstrapAddress(libc, plan.home.link, plan.home.cidr);
  } catch (err) {
    // networkd applies it (or reports why not); apid waits for it.
    con.say(`warning: ${errorText(err)}`);
  }

  await Deno.mkdir(RUN_STATE_DIR, { recursive: true, mode: 0o700 });
  // The daemons the API does not wait for start at a low CPU weight.
  let priority: BootPriority | undefined;
  try {
    priority = BootPriority.setup();
  } catch (err) {
    con.say(`warning: boot priority: ${errorText(err)}`);
  }
  const endBootPriority = () => {
    for (const p of priority?.restore() ?? []) {
      con.say(`warning: boot priority: ${p}`);
    }
  };
  const bootPriorityDeadline = setTimeout(
    endBootPriority,
    BOOT_PRIORITY_DEADLINE_MS,
  );
  const lateDeadline = setTimeout(() => lateHardware(ctx), LATE_HARDWARE_MS);
  const spawner = new GroupProcessRunner({
    setpriv: SETPRIV_PATH,
    setsid: null,
    pdeathsig: false,
  });
  const runner = new TrackingRunner(
    priority ? new BootPriorityRunner(spawner, priority) : spawner,
  );
  const machined = new Machined({
    stateDir: RUN_STATE_DIR,
    address: plan.address,
    config,
    hostname,
    natsServerPath: NATS_SERVER_PATH,
    etcdPath: ETCD_PATH,
    ...(o.hasEphemeral ? { etcdDataDir: ETCD_DATA_DIR } : {}),
    network: plan.network,
    platform: imagePlatform({
      address: plan.address,
      stateDir: o.stateDir,
      runner,
    }),
    logSink: consoleSink(con),
    onReady: () => {
      clearTimeout(bootPriorityDeadline);
      endBootPriority();
      clearTimeout(lateDeadline);
      lateHardware(ctx);
      libc.mallocTrim();
      readyLine(plan.address, hostname).then(con.say);
    },
  });
  const reaping = new AbortController();
  const reaper = new OrphanReaper({
    zombieChildren: () => procZombieChildren(Deno.pid),
    reap: (pid) => ctx.sys.reapNow(pid),
  }, {
    owns: (pid) => runner.owns(pid),
    onReaped: (pid, status) =>
      con.say(`reaped orphan ${pid} (status 0x${status.toString(16)})`),
  });
  const reaperDone = reaper.run(reaping.signal);
  const trimming = setInterval(() => libc.mallocTrim(), MALLOC_TRIM_MS);
  // A stop asked for before the services ran is passed on.
  const onStop = () => machined.shutdown("stop requested");
  ctx.stop.signal.addEventListener("abort", onStop, { once: true });
  try {
    const code = await machined.run();
    if (code !== 0) throw new Error(`machined stopped with code ${code}`);
    return machined.stopReason === "reboot" ? "reboot" : "poweroff";
  } finally {
    clearTimeout(bootPriorityDeadline);
    clearTimeout(lateDeadline);
    clearInterval(trimming);
    ctx.stop.signal.removeEventListener("abort", onStop);
    reaping.abort();
    await reaperDone;
  }
}

function finish(ctx: BootContext, action: PowerAction): void {
  const { sys, con } = ctx;
  sys.sync();
  const problems = unmountAll(sys, ctx.mounted);
  for (const p of problems) con.say(`warning: unmount: ${p}`);
  if (ctx.mounted.length > 0) {
    con.say(`unmounted ${ctx.mounted.join(", ")}`);
  }
  sys.sync();
  con.say(action === "reboot" ? "rebooting" : "powering off");
  sys.reboot(action === "reboot" ? RB_AUTOBOOT : RB_POWER_OFF);
}

/**
 * Runs the node as PID 1 until it powers off or reboots; never returns
 * (a PID 1 that exits panics the kernel).
 */
export async function runImageMode(): Promise<never> {
  // Before anything: as root on a host, the shutdown path below would
  // power that host off.
  if (Deno.pid !== 1) {
    console.error(
      `machined: image mode runs only as PID 1 (this is PID ${Deno.pid}); use --mode process`,
    );
    Deno.exit(2);
  }
  const sys = Sys.open();
  const con = serialConsole(() => sys.uptime());
  globalThis.addEventListener("unhandledrejection", (e) => {
    e.preventDefault();
    con.say(`error: unhandled rejection: ${errorText(e.reason)}`);
  });
  globalThis.addEventListener("error", (e) => {
    e.preventDefault();
    con.say(`error: uncaught: ${errorText(e.error ?? e.message)}`);
  });
  const ctx: BootContext = {
    sys,
    libc: Libc.open(),
    con,
    mounted: [],
    stop: new AbortController(),
  };
  let action: PowerAction = "poweroff";
  const onSignal = () => {
    if (!ctx.stop.signal.aborted) {
      con.say("stop requested by signal: shutting down");
      ctx.stop.abort();
    }
  };
  try {
    con.say(`starting in image mode (Deno ${Deno.version.deno})`);
    const now = mountMissing(sys, EARLY_MOUNTS);
    if (now.length > 0) con.say(`mounted ${now.join(", ")}`);
    const hardening = await applyKernelHardening();
    con.say(`kernel settings: ${hardening.applied.join(" ")}`);
    for (const p of hardening.problems) con.say(`warning: kernel setting ${p}`);
    // Ctrl-Alt-Del becomes SIGINT to PID 1: a clean shutdown, not a reset.
    sys.rebootCommand(RB_DISABLE_CAD);
    Deno.addSignalListener("SIGTERM", onSignal);
    Deno.addSignalListener("SIGINT", onSignal);
    action = await boot(ctx);
  } catch (err) {
    con.say(`fatal: ${errorText(err)}`);
    action = "poweroff";
  }
  try {
    finish(ctx, action);
  } catch (err) {
    con.say(`fatal: cannot ${action}: ${errorText(err)}`);
  }
  // Never exit: the kernel would panic.
  for (;;) await new Promise((r) => setTimeout(r, 3_600_000));
}
