import { assert, assertEquals, tempDir } from "../../../lib/testing/mod.ts";
import { daemonProcess } from "../daemon_command.ts";
import type { SupervisedDaemon } from "../../../lib/layout/mod.ts";
import type { ProcessRunner } from "../runner/process_runner.ts";
import {
  BOOT_LATER_CGROUP,
  BootPriority,
  BootPriorityRunner,
  startsBehindApi,
} from "./boot_priority.ts";

const launch = {
  root: "/usr/lib/bronze",
  bundleDir: "/usr/lib/bronze",
  denoPath: "/usr/bin/deno",
  hostname: "n1",
  busUrl: "nats://127.0.0.1:4222",
  address: "10.0.2.15",
  natsPort: 4222,
  stateDir: "/run/bronze",
  controlPlane: true,
};
const spec = (d: SupervisedDaemon) =>
  daemonProcess(d, launch, { busPassword: "p".repeat(32) });

Deno.test("startsBehindApi() picks udevd-lite, networkd and trustd, not apid", () => {
  assert(startsBehindApi(spec("udevd")));
  assert(startsBehindApi(spec("networkd")));
  assert(startsBehindApi(spec("trustd")));
  assert(!startsBehindApi(spec("apid")));
  assert(
    !startsBehindApi({ command: "/usr/sbin/nats-server", args: [], env: {} }),
  );
});

Deno.test("BootPriority sets up, demotes and restores a cgroup tree", async (t) => {
  await using dir = await tempDir();
  const root = dir.path;
  const group = `${root}/${BOOT_LATER_CGROUP}`;
  await Deno.writeTextFile(`${root}/cgroup.subtree_control`, "");
  const priority = BootPriority.setup(root);
  await t.step("setup enables cpu and sets the low weight", async () => {
    assertEquals(
      await Deno.readTextFile(`${root}/cgroup.subtree_control`),
      "+cpu",
    );
    assertEquals(await Deno.readTextFile(`${group}/cpu.weight`), "10");
  });
  await t.step("the runner demotes only the daemons behind the API", () => {
    let pid = 100;
    const inner: ProcessRunner = {
      start: () => ({
        pid: ++pid,
        exited: new Promise(() => {}),
        stop: () => Promise.resolve({ code: 0, signal: null }),
      }),
    };
    const runner = new BootPriorityRunner(inner, priority);
    runner.start(spec("apid"), () => {});
    assertEquals(Deno.statSync(group).isDirectory, true);
    let procs = "";
    try {
      procs = Deno.readTextFileSync(`${group}/cgroup.procs`);
    } catch { /* none yet */ }
    assertEquals(procs, "", "apid stays in the root cgroup");
    runner.start(spec("networkd"), () => {});
    assertEquals(Deno.readTextFileSync(`${group}/cgroup.procs`), "102");
  });
  await t.step("restore moves them back and is idempotent", async () => {
    // A plain folder cannot be removed with files in it; cgroupfs can.
    const problems = priority.restore();
    assertEquals(problems.length, 1);
    assert(problems[0].startsWith("remove:"), problems[0]);
    assertEquals(await Deno.readTextFile(`${group}/cpu.weight`), "100");
    assertEquals(await Deno.readTextFile(`${root}/cgroup.procs`), "102");
    assert(priority.restored);
    assertEquals(priority.restore(), []);
    assertEquals(priority.demote(103), false, "no demotion after the boot");
  });
});

Deno.test("BootPriority.setup() names the file it cannot write", () => {
  let message = "";
  try {
    BootPriority.setup("/nonexistent-bronze-cgroup");
  } catch (err) {
    message = err instanceof Error ? err.message : String(err);
  }
  assert(
    message.includes("/nonexistent-bronze-cgroup/cgroup.subtree_control"),
    message,
  );
});
