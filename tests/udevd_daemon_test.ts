/**
 * udevd-lite as a real process with its documented Deno permissions,
 * against a real nats-server: health, Disks matching /sys/block, coldplug
 * against a fixture modules folder, and a real kernel uevent published on
 * the bus as a DeviceEvent.
 */
import { Bus, callTyped } from "../lib/bus/mod.ts";
import { rpcSubject } from "../lib/constants/mod.ts";
import { Empty } from "../lib/api/gen/common/common.ts";
import { DeviceEvent, DisksResponse } from "../lib/api/gen/machine/machine.ts";
import { Libc } from "../lib/ffi/mod.ts";
import {
  assert,
  assertEquals,
  assertIncludes,
  startNats,
  tempDir,
  waitUntil,
} from "../lib/testing/mod.ts";
import {
  GRPC_ENV,
  natsHostPort,
  runDaemonToExit,
  startDaemon,
  waitForHealth,
} from "./daemon_process.ts";

const MAIN = new URL("../services/udevd-lite/main.ts", import.meta.url)
  .pathname;
/** The Deno permissions udevd's main.ts documents, but the bus and modules. */
const PERMISSIONS = ["--allow-ffi", `--allow-env=${GRPC_ENV}`];

/** `p`'s value, or undefined if it takes longer than `ms` (timer cleared). */
async function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let id: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((r) => {
    id = setTimeout(() => r(undefined), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(id);
  }
}

Deno.test("udevd answers health and Disks, runs coldplug, publishes uevents", async (t) => {
  await using nats = await startNats();
  await using mods = await tempDir();
  // A modules folder whose aliases match this machine's virtio/pci devices.
  await Deno.writeTextFile(
    `${mods.path}/modules.alias`,
    "alias virtio:d*v* bronze_virtio_fixture\nalias pci:v*d*sv*sd*bc*sc*i* bronze_pci_fixture\n",
  );
  await using udevd = await startDaemon(MAIN, {
    denoFlags: [
      ...PERMISSIONS,
      `--allow-net=${natsHostPort(nats.url)}`,
      `--allow-read=${mods.path}`,
    ],
    args: [
      "--address",
      "127.0.0.1",
      "--hostname",
      "node-1",
      "--modules-dir",
      mods.path,
    ],
    secrets: { bus: nats.creds("udevd") },
  });
  const machined = await Bus.connect(nats.creds("machined"));
  const apid = await Bus.connect(nats.creds("apid"));
  // The test listens with udevd's own user, which may read its subjects.
  const listener = await Bus.connect(nats.creds("udevd"));
  try {
    await t.step("health", async () => {
      assertEquals(await waitForHealth(machined, "udevd"), {
        service: "udevd",
        healthy: true,
        message: "",
      });
    });

    await t.step("Disks matches /sys/block", async () => {
      const res = await callTyped(apid, rpcSubject("udevd", "Disks"), {
        req: Empty,
        res: DisksResponse,
      }, Empty.create());
      assertEquals(res.messages.length, 1);
      assertEquals(res.messages[0].metadata, undefined);
      using libc = Libc.open();
      const want = libc.readDir("/sys/block").map((e) => e.name).sort();
      const disks = res.messages[0].disks;
      assertEquals(disks.map((d) => d.name), want);
      for (const d of disks) {
        const sectors = new TextDecoder().decode(
          libc.readFile(`/sys/block/${d.name}/size`),
        ).trim();
        assertEquals(d.size, Number(sectors) * 512, d.name);
      }
    });

    await t.step({
      name: "a kernel uevent arrives on udevd.events.change",
      ignore: Deno.uid() !== 0,
      fn: async () => {
        using libc = Libc.open();
        const loop = libc.readDir("/sys/block").map((e) => e.name)
          .find((n) => /^loop\d+$/.test(n));
        if (!loop) {
          console.error("skipped: no loop device to send a uevent for");
          return;
        }
        const uuid = crypto.randomUUID();
        const ac = new AbortController();
        const seen = (async () => {
          for await (
            const m of listener.subscribe("udevd.events.>", {
              signal: ac.signal,
            })
          ) {
            const e = DeviceEvent.decode(m.data);
            if (e.env.SYNTH_UUID === uuid) return { subject: m.subject, e };
          }
          return undefined;
        })();
        try {
          // Synthetic "change" events with our UUID, until one is seen
          // (the subscription may take a moment to reach the server).
          const got = await waitUntil(async () => {
            await Deno.writeTextFile(
              `/sys/block/${loop}/uevent`,
              `change ${uuid}`,
            );
            return await within(seen, 300);
          }, { timeoutMs: 15000, what: "a device event" });
          assertEquals(got.subject, "udevd.events.change");
          assertEquals(got.e.action, "change");
          assertEquals(got.e.subsystem, "block");
          assertEquals(got.e.devname, loop);
          assert(got.e.devpath.endsWith(`/block/${loop}`), got.e.devpath);
          assert(got.e.seqnum > 0);
        } finally {
          ac.abort();
          await seen;
        }
      },
    });
  } finally {
    await listener.close();
    await apid.close();
    await machined.close();
  }
  const stderr = await udevd.stop();
  await t.step("coldplug matched this machine's devices", () => {
    const line = stderr.split("\n").find((l) => l.includes('"coldplug"'));
    assert(line, stderr);
    const log = JSON.parse(line);
    assert(log.devices > 0, line);
    assertEquals(log.aliases, 2);
    assert(
      log.modules.includes("bronze_virtio_fixture") ||
        log.modules.includes("bronze_pci_fixture"),
      line,
    );
    assertEquals(log.load, false);
  });
});

Deno.test("udevd refuses unknown and bad flags", async (t) => {
  for (
    const [args, want] of [
      [
        ["--address", "127.0.0.1", "--hostname", "n", "--udev"],
        'unknown flag "--udev"',
      ],
      [["--address", "x", "--hostname", "n"], '"x" is not an IP address'],
      [["--address", "127.0.0.1", "--hostname", "n", "--sys", "sys"], '"sys"'],
      [["--address", "127.0.0.1"], "--hostname is required"],
    ] as const
  ) {
    await t.step(args.join(" "), async () => {
      const out = await runDaemonToExit(MAIN, { denoFlags: PERMISSIONS, args });
      assertEquals(out.code, 2);
      assertIncludes(out.stderr, want);
    });
  }
});
