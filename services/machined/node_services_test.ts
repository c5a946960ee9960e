import { assertEquals, tempDir, waitUntil } from "../../lib/testing/mod.ts";
import { nodeServices } from "./node_services.ts";
import { GroupProcessRunner } from "./runner/process_runner.ts";
import { Supervisor } from "./runner/supervisor.ts";

const PASSWORDS = {
  machined: "m",
  apid: "a",
  trustd: "t",
  networkd: "n",
  udevd: "u",
};

Deno.test("nodeServices() restarts a crash-looping bus and apid within 5 s, still backing off", async () => {
  await using dir = await tempDir();
  // Every program exits at once: nats-server and each daemon crash in a loop.
  const specs = nodeServices({
    launch: {
      address: "127.12.0.2",
      natsPort: 1,
      stateDir: dir.path,
      controlPlane: false,
      root: dir.path,
      denoPath: "/bin/false",
      hostname: "crashy",
      busUrl: "nats://127.12.0.2:1",
    },
    natsServerPath: "/bin/false",
    natsConfigPath: `${dir.path}/nats.conf`,
    passwords: PASSWORDS,
    host: {
      trustdSecrets: () => ({ caCrt: "", caKey: "", token: "" }),
      networkConfig: () => undefined,
      daemonHealth: () => Promise.resolve(),
      busHealth: () => undefined,
    },
    backoff: { jitter: 0 },
    // No start order: each service crashes on its own.
    waitForAddress: () => Promise.resolve(),
  });
  const sup = new Supervisor(specs, { runner: new GroupProcessRunner() });
  const delays = (id: string) =>
    sup.get(id).events.filter((e) => e.message.startsWith("Restarting in"))
      .map((e) => e.message.replace(/^Restarting in ([0-9.]+) s.*/, "$1"));
  try {
    sup.startAll();
    await waitUntil(
      () => ["nats", "apid", "udevd"].every((id) => delays(id).length >= 4),
      { timeoutMs: 30_000 },
    );
    assertEquals(delays("nats").slice(0, 4), ["1.00", "2.00", "4.00", "5.00"]);
    assertEquals(delays("apid").slice(0, 4), ["1.00", "2.00", "4.00", "5.00"]);
    // Other services keep the longer backoff.
    assertEquals(delays("udevd").slice(0, 4), ["1.00", "2.00", "4.00", "8.00"]);
  } finally {
    await sup.stopAll();
  }
});
