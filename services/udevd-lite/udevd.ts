/**
 * udevd-lite's run loop: Disks on the bus, kernel uevents published as
 * device events, coldplug module autoload (reported; loaded in image mode).
 * @module
 */
import type { Bus } from "../../lib/bus/mod.ts";
import { ApiError } from "../../lib/api_error/mod.ts";
import { serveMethods } from "../../lib/api/serve.ts";
import { DeviceEvent } from "../../lib/api/gen/machine/machine.ts";
import type { DaemonContext, HealthCheck } from "../../lib/daemon/mod.ts";
import { Libc } from "../../lib/ffi/mod.ts";
import { errorText, type Logger } from "../../lib/log/mod.ts";
import { listBlockDevices } from "./block_devices.ts";
import { loadModules, planColdplug } from "./coldplug.ts";
import type { UdevdFlags } from "./flags.ts";
import type { Uevent } from "./uevent.ts";
import { listenUevents } from "./uevent_listener.ts";
import { type AliasTable, aliasTable, matchModules } from "./modules_alias.ts";
import { libcSysfs, type SysfsReader } from "./sysfs.ts";

/** The bus subject a device event with `action` is published on. */
export function deviceEventSubject(action: string): string {
  return `udevd.events.${action}`;
}

/** A uevent as the machine.DeviceEvent message. */
export function toDeviceEvent(e: Uevent): DeviceEvent {
  return {
    action: e.action,
    devpath: e.devpath,
    subsystem: e.subsystem,
    devtype: e.env.DEVTYPE ?? "",
    devname: e.env.DEVNAME ?? "",
    seqnum: e.seqnum,
    modalias: e.env.MODALIAS ?? "",
    env: { ...e.env },
  };
}

/** Serves Disks on udevd's bus subject, read from sysfs on every call. */
export function serveDisksApi(
  bus: Bus,
  sys: SysfsReader,
  sysRoot: string,
): void {
  serveMethods(bus, "udevd", {
    Disks: () => {
      try {
        return Promise.resolve({
          messages: [{
            metadata: undefined,
            disks: listBlockDevices(sys, sysRoot),
          }],
        });
      } catch (err) {
        return Promise.reject(
          new ApiError(
            "Unavailable",
            `Cannot list block devices: ${errorText(err)}`,
          ),
        );
      }
    },
  });
}

/** A udevd-lite instance: its run function and its health check. */
export interface Udevd {
  /** Runs until `ctx.signal` aborts. */
  run(ctx: DaemonContext): Promise<void>;
  /** Healthy while the uevent listener runs. */
  health: HealthCheck;
}

/** Makes udevd-lite for the given flags. */
export function createUdevd(flags: UdevdFlags): Udevd {
  let problem = "starting";
  let note = "";
  const health: HealthCheck = () =>
    Promise.resolve({
      healthy: problem === "",
      message: problem || note,
    });

  const run = async ({ bus, log, signal }: DaemonContext) => {
    const modulesDir = flags.modulesDir ??
      `/lib/modules/${Deno.osRelease()}`;
    using libc = Libc.open();
    const sys = libcSysfs(libc);
    serveDisksApi(bus, sys, flags.sys);
    let ready!: () => void;
    const listening = new Promise<void>((r) => ready = r);
    let hotplug: ((e: Uevent) => void) | undefined;
    const listener = listenUevents(libc, {
      onReady: () => ready(),
      onEvent: (e) => {
        publish(bus, log, e);
        hotplug?.(e);
      },
      onDrop: (reason) => log.warn("uevent dropped", { reason }),
    }, { signal }).then(() => {}, (err) => {
      problem = `uevent listener stopped: ${errorText(err)}`;
      log.error("uevent listener stopped", { error: errorText(err) });
      ready();
    });
    await listening;
    if (problem === "starting") problem = "";
    // Coldplug after the listener is up, so no device slips between the two.
    try {
      const plan = await planColdplug(sys, modulesDir, {
        sysRoot: flags.sys,
        signal,
      });
      log.info("coldplug", {
        modulesDir,
        devices: plan.modaliases.length,
        aliases: plan.aliasCount,
        skippedAliasLines: plan.skippedAliasLines,
        modules: plan.modules,
        present: plan.present,
        load: flags.loadModules,
      });
      if (flags.loadModules && plan.modules.length > 0) {
        const report = await loadModules(libc, plan.modules, {
          modulesDir,
          sysRoot: flags.sys,
          sys,
        });
        log.info("modules loaded", { ...report });
        if (report.failed.length > 0) {
          note = `modules not loaded: ${
            report.failed.map((f) => `${f.module} (${f.error})`).join(", ")
          }`;
        }
      }
      if (flags.loadModules && plan.aliasCount > 0) {
        hotplug = hotplugLoader(libc, sys, modulesDir, flags.sys, log);
      }
    } catch (err) {
      note = `coldplug failed: ${errorText(err)}`;
      log.error("coldplug failed", { error: errorText(err) });
    }
    log.info("serving", { address: flags.address, sys: flags.sys });
    // The coldplug's garbage (modules.alias, sysfs walks) goes back.
    libc.mallocTrim();
    await listener;
  };
  return { run, health };
}

function publish(bus: Bus, log: Logger, e: Uevent): void {
  try {
    bus.publish(
      deviceEventSubject(e.action),
      DeviceEvent.encode(toDeviceEvent(e)).finish(),
    );
  } catch (err) {
    log.warn("device event not published", {
      action: e.action,
      devpath: e.devpath,
      error: errorText(err),
    });
  }
}

/** Image mode: loads the module a newly added device asks for. */
function hotplugLoader(
  libc: Libc,
  sys: SysfsReader,
  modulesDir: string,
  sysRoot: string,
  log: Logger,
): (e: Uevent) => void {
  let table: AliasTable | undefined;
  let queue = Promise.resolve();
  return (e) => {
    const alias = e.env.MODALIAS;
    if (e.action !== "add" || !alias) return;
    queue = queue.then(async () => {
      table ??= aliasTable(
        await Deno.readTextFile(`${modulesDir}/modules.alias`),
      );
      const modules = matchModules(table, [alias]);
      if (modules.length === 0) return;
      const report = await loadModules(libc, modules, {
        modulesDir,
        sysRoot,
        sys,
      });
      log.info("hotplug modules", { modalias: alias, ...report });
    }).catch((err) =>
      log.warn("hotplug module load failed", {
        modalias: alias,
        error: errorText(err),
      })
    );
  };
}
