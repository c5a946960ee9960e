/**
 * The probe: a tiny PID 1 for testing the image before machined's image
 * mode exists (`bronze.init=probe`). It proves the boot path end to end and
 * powers off: reads /proc/version, checks the root is read-only, mounts a
 * tmpfs on /tmp and writes to it, loads the virtio drivers from the image's
 * modules.dep, lists block and network devices, then reboot(RB_POWER_OFF).
 * Each result is one console line `bronze-probe: <key>: <value>`.
 * @module
 */

import { bootLog, errorText } from "../../lib/log/mod.ts";
import { loadModules } from "../../lib/kmod/mod.ts";
import {
  EROFS,
  Libc,
  MS_NODEV,
  MS_NOSUID,
  RB_POWER_OFF,
  Sys,
} from "../../lib/ffi/mod.ts";

import {
  checkServiceIdentity,
  IDENTITY_CHECK_FLAG,
  identityCheckChild,
} from "./identity_check.ts";

const PROBE_MODULES = ["virtio_pci", "virtio_blk", "virtio_net"];

function listDir(path: string): string[] {
  try {
    return [...Deno.readDirSync(path)].map((e) => e.name).sort();
  } catch {
    return [];
  }
}

async function waitFor(
  check: () => boolean,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

async function probe(
  sys: Sys,
  say: (k: string, v: string) => void,
): Promise<void> {
  say("pid", String(Deno.pid));
  say("version", Deno.readTextFileSync("/proc/version").trim());
  say("cmdline", Deno.readTextFileSync("/proc/cmdline").trim());

  try {
    Deno.writeTextFileSync("/.probe", "x");
    say("root", "WRITABLE");
  } catch (err) {
    const ro = err instanceof Error &&
      /read-only|EROFS|os error 30/i.test(err.message);
    say(
      "root",
      ro ? "read-only" : `error ${errorText(err)} (want EROFS ${EROFS})`,
    );
  }

  sys.mount(
    "tmpfs",
    "/tmp",
    "tmpfs",
    MS_NOSUID | MS_NODEV,
    "mode=0755,size=16m",
  );
  Deno.writeTextFileSync("/tmp/probe", "ok");
  say("tmpfs", Deno.readTextFileSync("/tmp/probe"));

  const release = Deno.readTextFileSync("/proc/sys/kernel/osrelease").trim();
  using libc = Libc.open();
  const loaded = loadModules(libc, PROBE_MODULES, {
    dir: `/lib/modules/${release}`,
  });
  say("modules", `${loaded.length} loaded for ${PROBE_MODULES.join(",")}`);
  await waitFor(() => listDir("/sys/class/block").includes("vda"), 5000);
  await waitFor(() => listDir("/sys/class/net").some((n) => n !== "lo"), 5000);
  say("block", listDir("/sys/class/block").join(",") || "(none)");
  say("net", listDir("/sys/class/net").join(",") || "(none)");
  const mem = Deno.readTextFileSync("/proc/meminfo").split("\n")
    .filter((l) => /^(MemTotal|MemAvailable):/.test(l))
    .map((l) => l.replace(/\s+/g, " ")).join("; ");
  say("memory", mem);
  // /tmp is the probe's tmpfs: the child (another uid) writes its cache there.
  Deno.chmodSync("/tmp", 0o1777);
  say(
    "service identity",
    await checkServiceIdentity(new URL(import.meta.url).pathname),
  );
  say("uptime", Deno.readTextFileSync("/proc/uptime").split(" ")[0]);
}

if (Deno.args[0] === IDENTITY_CHECK_FLAG) {
  identityCheckChild(Deno.args[1] ?? "");
  Deno.exit(0);
}
const sys = Sys.open();
const log = bootLog("bronze-probe", () => sys.uptime());
const say = (k: string, v: string) => log(`${k}: ${v}`);
try {
  await probe(sys, say);
  say("result", "ok");
} catch (err) {
  say("result", `failed: ${errorText(err)}`);
}
say("power", "off");
sys.sync();
sys.reboot(RB_POWER_OFF);
