/**
 * machined: the node's init and supervisor.
 *
 *     deno run --allow-all services/machined/main.ts \
 *       --state DIR --address IP --config FILE [--hostname NAME] \
 *       [--mode process] [--nats-server PATH] [--cert-ttl 24h]
 *     /usr/bin/deno run --allow-all ... /usr/lib/bronze/machined.js --mode image
 *
 * `--mode image` is PID 1 in the image (image_mode/pid1.ts): it mounts the
 * system, finds the machine config (state partition, `bronze.config=` on the
 * kernel command line, QEMU fw_cfg; else maintenance mode), brings up the
 * node's services from the image's bundles, reaps orphans, and ends with
 * reboot(2). It never exits. Everything below describes process mode.
 *
 * Flags:
 * - `--state DIR`     the node's state folder; machined writes only here:
 *                     DIR/run/nats.conf (0600, per-boot bus passwords) and
 *                     DIR/certs/{apid,trustd}/ (0700).
 * - `--address IP`    the node's IPv4 address (e.g. 127.5.0.2); nats-server
 *                     listens only on IP:4222, apid on IP:50000, trustd on
 *                     IP:50001.
 * - `--config FILE`   the v1alpha1 machine config of the first boot: it
 *                     seeds DIR/config/ (config_store.ts), which the node
 *                     boots from afterwards and ApplyConfiguration changes;
 *                     a bad file prints every problem with its field path
 *                     and exits 2 with nothing started.
 * - `--hostname NAME` the hostname when the config names none (default:
 *                     derived from the address, "bronze-127-5-0-2").
 * - `--mode process`  the only mode here (image mode is PID 1 in the image).
 * - `--nats-server PATH` the nats-server binary (default: found in /usr/sbin,
 *                     /usr/bin, /sbin, /bin).
 * - `--upgrade-trial D` how long a release installed by Upgrade may take to
 *                     get every service Running and healthy before machined
 *                     returns to the previous release (default 90s).
 * - `--cert-ttl D`    lifetime of the node certificates (apid, trustd):
 *                     "90s", "15m", "24h" (default 24h, at least 2s); they
 *                     are renewed at half-life.
 *
 * Permissions: machined is the node's init and the only program with
 * --allow-run, which already reaches the whole machine; it also reads /proc
 * (Memory, LoadAvg) and /dev/kmsg (Dmesg), which Deno 2.9 grants only with
 * --allow-all. Every daemon it starts runs with the least permissions in
 * lib/layout/daemon_permissions.ts.
 *
 * Exit codes: 0 after Shutdown or SIGTERM/SIGINT (every service stopped),
 * 1 on a runtime failure, 2 on a bad command line or machine config.
 *
 * machined starts nats-server and each daemon with PR_SET_PDEATHSIG=SIGKILL
 * in its own process group, so no process of the node outlives machined,
 * even when machined is killed with SIGKILL. Each daemon gets its bus
 * credentials on stdin and only the Deno permissions listed in
 * lib/layout/daemon_permissions.ts.
 *
 * Tests and benchmarks that call the node over the bus read the "apid" user's
 * password from DIR/run/nats.conf: the file is owner-only (0600) and made
 * fresh each boot, so only the node's own user can read it.
 * @module
 */
import {
  ConfigValidationError,
  type MachineConfig,
  parseMachineConfig,
  readBoundedFile,
} from "../../lib/config/mod.ts";
import { ConfigStore } from "./config_store.ts";
import { errorText } from "../../lib/log/mod.ts";
import {
  FlagError,
  isImageMode,
  type MachinedFlags,
  parseMachinedFlags,
  USAGE,
} from "./flags.ts";
import { runImageMode } from "./image_mode/pid1.ts";
import { Machined } from "./machined.ts";
import { findExecutable } from "../../lib/exec/mod.ts";
import { execve, releaseArgv } from "./upgrade/exec_release.ts";

function fail(code: number, message: string): never {
  console.error(`machined: ${message}`);
  Deno.exit(code);
}

async function runProcessMode(args: string[]): Promise<never> {
  let flags: MachinedFlags;
  try {
    flags = parseMachinedFlags(args);
  } catch (err) {
    if (err instanceof FlagError) fail(2, `${err.message}\n${USAGE}`);
    throw err;
  }

  // The node's own config lives in its state; --config seeds the first
  // boot, checked before anything is written (a bad one writes nothing).
  let seed: string | undefined;
  const stored = await Deno.stat(`${flags.stateDir}/config/machine.yaml`)
    .then(() => true, () => false);
  if (!stored) {
    try {
      const bytes = await readBoundedFile(flags.configPath, "machine config");
      parseMachineConfig(bytes, flags.configPath);
      seed = new TextDecoder().decode(bytes);
    } catch (err) {
      if (err instanceof ConfigValidationError) fail(2, err.message);
      fail(2, errorText(err));
    }
  }
  await Deno.mkdir(flags.stateDir, { recursive: true, mode: 0o700 });
  let store: ConfigStore;
  try {
    store = await ConfigStore.open(`${flags.stateDir}/config`, {
      seed: seed === undefined ? undefined : () => Promise.resolve(seed),
    });
    await store.promoteStaged();
  } catch (err) {
    fail(2, errorText(err));
  }
  const config: MachineConfig = store.current().config;

  const natsServerPath = flags.natsServer ?? findExecutable("nats-server");
  if (!natsServerPath) {
    fail(1, "nats-server not found: install Debian's nats-server package");
  }

  const machined = new Machined({
    stateDir: await Deno.realPath(flags.stateDir),
    address: flags.address,
    config,
    hostname: flags.hostname,
    natsServerPath,
    certTtlMs: flags.certTtlMs,
    upgradeTrialMs: flags.upgradeTrialMs,
    configStore: store,
  });
  const code = await machined.run();
  // Upgrade, rollback or a failed trial: every service has stopped; the
  // same process (same pid) goes on as machined of the other release.
  if (machined.restartRoot !== undefined) {
    execve(releaseArgv(machined.restartRoot, args));
  }
  Deno.exit(code);
}

if (isImageMode(Deno.args)) await runImageMode();
else await runProcessMode(Deno.args);
