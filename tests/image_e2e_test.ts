/**
 * End to end: the real image (cached build of the current sources) boots
 * under QEMU TCG with machined as PID 1 and is driven through its API over
 * mTLS on a port forwarded from 127.0.0.1:
 * - with a config on QEMU's fw_cfg: Version, ServiceList, Processes, a
 *   networkd restart through the API (new pid, Running), Dmesg (the kernel's
 *   "Linux version"), `osctl apply-config --mode staged` (mTLS, admin),
 *   Reboot (the next boot reads the config from the state partition),
 *   Shutdown, and QEMU exits after a clean unmount;
 * - with no config: maintenance mode (server-only TLS, the fingerprint on
 *   the console is the served certificate's, only ApplyConfiguration and
 *   Version), a bad config refused with every problem, `osctl apply-config
 *   --insecure`, the node boots on with it, and the ACPI power button
 *   (QMP system_powerdown) shuts it down cleanly.
 * One VM at a time; each boot takes ~30 s of a 2-core TCG machine.
 */
import { X509Certificate } from "node:crypto";
import tls from "node:tls";
import { cachedBuild, repoRootOf } from "../image/cached_build.ts";
import { composeCmdline } from "../lib/layout/mod.ts";
import { startVm, type Vm } from "../image/qemu.ts";
import { MachineServiceService } from "../lib/api/gen/machine/machine.ts";
import { ApiError } from "../lib/api_error/mod.ts";
import {
  contextTls,
  mintClientConfig,
  saveClientConfig,
} from "../lib/clientconfig/mod.ts";
import {
  bundleCa,
  generateMachineConfigs,
  generateSecretsBundle,
  type MachineConfig,
  type SecretsBundle,
  stringifyMachineConfig,
} from "../lib/config/mod.ts";
import { TlsChannel } from "../lib/grpc/mod.ts";
import {
  assert,
  assertEquals,
  assertIncludes,
  assertRejects,
  freePort,
  tempDir,
  waitUntil,
} from "../lib/testing/mod.ts";
import { ApiClient } from "../cli/client/api_client.ts";
import { runOsctl } from "./osctl_runner.ts";

const repoRoot = repoRootOf(import.meta.url, 1);
const BOOT_TIMEOUT_MS = 240_000;

/** A control-plane config on QEMU's user network (10.0.2.15/24 via 10.0.2.2). */
function nodeConfig(secrets: SecretsBundle, hostname: string): MachineConfig {
  const { controlplane } = generateMachineConfigs("e2e", "10.0.2.15", {
    secrets,
  });
  controlplane.machine.network = {
    hostname,
    interfaces: [{
      name: "eth0",
      addresses: ["10.0.2.15/24"],
      routes: [{ network: "0.0.0.0/0", gateway: "10.0.2.2" }],
    }],
  };
  return controlplane;
}

const osctl = (args: string[]) => runOsctl(args);

/** The SHA-256 fingerprint of the certificate served at 127.0.0.1:port. */
function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: "127.0.0.1",
      port,
      rejectUnauthorized: false,
      servername: "bronze-node",
      ALPNProtocols: ["h2"],
    }, () => {
      const cert = socket.getPeerCertificate(true);
      socket.destroy();
      if (!cert?.raw) reject(new Error("no peer certificate"));
      else resolve(new X509Certificate(cert.raw).fingerprint256);
    });
    socket.on("error", reject);
    socket.setTimeout(20_000, () => {
      socket.destroy();
      reject(new Error("TLS handshake timed out"));
    });
  });
}

async function adminClient(
  secrets: SecretsBundle,
  port: number,
): Promise<{ client: ApiClient; osconfig: (dir: string) => Promise<string> }> {
  const ca = await bundleCa(secrets);
  const cc = await mintClientConfig(ca, {
    contextName: "e2e",
    endpoints: [`127.0.0.1:${port}`],
  });
  return {
    client: new ApiClient({
      endpoints: [`127.0.0.1:${port}`],
      nodes: [],
      tls: contextTls(cc.contexts.e2e),
    }),
    osconfig: async (dir: string) => {
      const path = `${dir}/osconfig`;
      await saveClientConfig(path, cc);
      return path;
    },
  };
}

async function expectCleanPowerOff(vm: Vm): Promise<void> {
  await vm.console.waitFor(/machined: powering off/, { timeoutMs: 60_000 });
  const exit = await vm.shutdown({ timeoutMs: 60_000 });
  assertEquals(exit.code, 0, `QEMU exit ${JSON.stringify(exit)}`);
  assert(
    !/warning: unmount/.test(vm.console.text()),
    "every partition unmounted cleanly",
  );
}

Deno.test("image e2e: a configured node serves the API and shuts down", async (t) => {
  const image = await cachedBuild({ repoRoot });
  assert(image.disk !== undefined, "the cached build has a disk");
  await using dir = await tempDir();
  const secrets = await generateSecretsBundle();
  const config = nodeConfig(secrets, "e2e-node-1");
  await Deno.writeTextFile(
    `${dir.path}/config.yaml`,
    stringifyMachineConfig(config),
  );
  const port = freePort();
  await using vm = await startVm({
    ...image.boot,
    cmdline: composeCmdline(image.cmdline, ["panic=-1"]),
    disk: image.disk,
    forwards: [{ hostPort: port, guestPort: 50000 }],
    fwCfg: [{ name: "opt/bronze/config", file: `${dir.path}/config.yaml` }],
    // A guest reboot restarts the VM (the disk's writes last as long as QEMU).
    noReboot: false,
  });
  const { client, osconfig } = await adminClient(secrets, port);
  try {
    await t.step(
      "machined boots as PID 1 and prints the ready line",
      async () => {
        await vm.console.waitFor(/machined: starting in image mode/, {
          timeoutMs: BOOT_TIMEOUT_MS,
        });
        await vm.console.waitFor(/machine config from QEMU fw_cfg/, {
          timeoutMs: BOOT_TIMEOUT_MS,
        });
        const ready = await vm.console.waitFor(
          /machined: ready: e2e-node-1 at 10\.0\.2\.15, .* SHA-256 ([0-9A-F:]{95})/,
          { timeoutMs: BOOT_TIMEOUT_MS },
        );
        assertEquals(ready.match[1], await servedFingerprint(port));
      },
    );

    await t.step("Version over mTLS names the image platform", async () => {
      const v = await client.unary(
        MachineServiceService.version,
        { metadata: undefined },
        { timeoutMs: 30_000 },
      );
      assertEquals(v.messages[0].platform, { name: "metal", mode: "image" });
      assertEquals(v.messages[0].version?.denoVersion, Deno.version.deno);
    });

    const services = async () =>
      (await client.unary(
        MachineServiceService.serviceList,
        { metadata: undefined },
        { timeoutMs: 30_000 },
      )).messages[0].services;

    let networkdPid = 0;
    await t.step("ServiceList: every service Running and healthy", async () => {
      const list = await services();
      assertEquals(list.map((s) => s.id), [
        "machined",
        "nats",
        "udevd",
        "networkd",
        "trustd",
        "apid",
        "etcd",
      ]);
      // etcd waits for osctl bootstrap (below) and says so.
      const etcd = list.find((s) => s.id === "etcd");
      assertEquals(etcd?.state, "Preparing");
      for (const s of list.filter((s) => s.id !== "etcd")) {
        assertEquals([s.id, s.state, s.health?.healthy], [
          s.id,
          "Running",
          true,
        ]);
      }
      assertEquals(list[0].pid, 1);
      networkdPid = list.find((s) => s.id === "networkd")!.pid;
    });

    await t.step("Processes lists each daemon with its memory", async () => {
      const p = (await client.unary(
        MachineServiceService.processes,
        { metadata: undefined },
        { timeoutMs: 30_000 },
      )).messages[0].processes;
      for (const id of ["machined", "nats", "apid", "networkd"]) {
        const proc = p.find((x) => x.service === id);
        assert(proc, `a process for ${id}`);
        assert(proc.proportionalMemory > 0, `${id} has a PSS`);
      }
    });

    await t.step(
      "each service runs under its own uid with only its capabilities",
      async () => {
        const p = (await client.unary(
          MachineServiceService.processes,
          { metadata: undefined },
          { timeoutMs: 30_000 },
        )).messages[0].processes;
        const root = p.find((x) => x.service === "machined");
        assertEquals(root?.uid, 0);
        const CAP_NET_ADMIN = 2 ** 12;
        const CAP_SYS_MODULE = 2 ** 16;
        const want: Record<string, [number, number]> = {
          nats: [50, 0],
          apid: [51, 0],
          networkd: [53, CAP_NET_ADMIN],
          udevd: [54, CAP_SYS_MODULE],
        };
        for (const [id, [uid, caps]] of Object.entries(want)) {
          const proc = p.find((x) => x.service === id);
          assert(proc, `a process for ${id}`);
          assertEquals(
            [proc.uid, proc.gid, proc.capabilitiesEffective, proc.noNewPrivs],
            [uid, uid, caps, true],
            id,
          );
        }
      },
    );

    await t.step("the kernel hardening settings are in force", async () => {
      const line = await vm.console.waitFor(/machined: kernel settings: (.*)/, {
        timeoutMs: 5_000,
      });
      for (
        const s of [
          "kernel.kptr_restrict=1",
          "kernel.dmesg_restrict=1",
          "kernel.perf_event_paranoid=3",
          "kernel.yama.ptrace_scope=1",
          "kernel.unprivileged_bpf_disabled=1",
          "net.core.bpf_jit_harden=2",
          "fs.protected_symlinks=1",
          "fs.protected_hardlinks=1",
          "fs.protected_fifos=2",
          "fs.protected_regular=2",
        ]
      ) {
        assertIncludes(line.match[1], s);
      }
      const cmdline = (await vm.console.waitFor(/Command line: (.*)/, {
        timeoutMs: 5_000,
      })).match[1];
      assertIncludes(cmdline, "slab_nomerge");
      assertIncludes(cmdline, "pti=on");
    });

    await t.step(
      "udevd-lite read the image's modules at coldplug",
      async () => {
        let text = "";
        for await (
          const chunk of client.stream(
            MachineServiceService.logs,
            { id: "udevd", follow: false, tailLines: -1 },
            {},
          )
        ) {
          text += new TextDecoder().decode(chunk.bytes);
        }
        const coldplug = text.split("\n").find((l) => l.includes('"coldplug"'));
        assert(coldplug, `no coldplug line in udevd's log:\n${text}`);
        assert(!/"aliases":0[,}]/.test(coldplug), coldplug);
        assert(!text.includes("coldplug failed"), text);
      },
    );

    await t.step("networkd restarts through the API", async () => {
      const r = await client.unary(
        MachineServiceService.serviceRestart,
        { id: "networkd" },
        { timeoutMs: 30_000 },
      );
      assertIncludes(r.messages[0].resp, "networkd");
      await waitUntil(async () => {
        const n = (await services()).find((s) => s.id === "networkd")!;
        return n.pid !== networkdPid && n.state === "Running" &&
          n.health?.healthy === true;
      }, { timeoutMs: 120_000, intervalMs: 1000, what: "networkd back up" });
    });

    await t.step(
      "osctl bootstrap forms etcd; osctl etcd members lists the node",
      async () => {
        const config = await osconfig(dir.path);
        const boot = await osctl(["bootstrap", "--osconfig", config]);
        assertEquals(boot.code, 0, boot.stderr);
        await waitUntil(async () => {
          const e = (await services()).find((s) => s.id === "etcd")!;
          return e.state === "Running" && e.health?.healthy === true;
        }, { timeoutMs: 180_000, intervalMs: 1000, what: "etcd healthy" });
        const members = await osctl([
          "etcd",
          "members",
          "--osconfig",
          config,
        ]);
        assertEquals(members.code, 0, members.stderr);
        assertIncludes(members.stdout, "e2e-node-1");
        const p = (await client.unary(
          MachineServiceService.processes,
          { metadata: undefined },
          { timeoutMs: 30_000 },
        )).messages[0].processes.find((x) => x.service === "etcd");
        assertEquals(
          [p?.uid, p?.capabilitiesEffective, p?.noNewPrivs],
          [55, 0, true],
        );
      },
    );

    await t.step("Dmesg streams the kernel log", async () => {
      let text = "";
      for await (
        const chunk of client.stream(
          MachineServiceService.dmesg,
          { follow: false, tailLines: 0 },
          {},
        )
      ) {
        text += new TextDecoder().decode(chunk.bytes);
      }
      assertIncludes(text, "Linux version");
    });

    await t.step(
      "osctl apply-config (mTLS, admin) stages a config",
      async () => {
        const staged = await osctl([
          "apply-config",
          "--osconfig",
          await osconfig(dir.path),
          "--mode",
          "staged",
          "-f",
          `${dir.path}/config.yaml`,
        ]);
        assertEquals(staged.code, 0, staged.stderr);
        assertIncludes(staged.stdout, "takes effect at the next reboot");
      },
    );

    await t.step(
      "Reboot: reboot(2), then a boot from the state partition",
      async () => {
        const from = vm.console.lines.length;
        await client.unary(
          MachineServiceService.reboot,
          {},
          { timeoutMs: 30_000 },
        );
        await vm.console.waitFor(/machined: rebooting/, {
          from,
          timeoutMs: 60_000,
        });
        await vm.console.waitFor(/machined: starting in image mode/, {
          from,
          timeoutMs: BOOT_TIMEOUT_MS,
        });
        await vm.console.waitFor(/machine config from the state partition/, {
          from,
          timeoutMs: BOOT_TIMEOUT_MS,
        });
        await vm.console.waitFor(/machined: ready: e2e-node-1/, {
          from,
          timeoutMs: BOOT_TIMEOUT_MS,
        });
        assert(
          !vm.console.lines.slice(from).some((l) =>
            /warning: unmount/.test(l.text)
          ),
          "the partitions were unmounted cleanly before the reboot",
        );
      },
    );

    await t.step("Shutdown through the API: QEMU exits", async () => {
      const r = await client.unary(
        MachineServiceService.shutdown,
        { force: false },
        { timeoutMs: 30_000 },
      );
      assert(r.messages[0].actorId.length > 0);
      await expectCleanPowerOff(vm);
    });
  } finally {
    client.close();
  }
});

Deno.test("image e2e: maintenance mode takes a config through apply-config --insecure", async (t) => {
  const image = await cachedBuild({ repoRoot });
  await using dir = await tempDir();
  const secrets = await generateSecretsBundle();
  await Deno.writeTextFile(
    `${dir.path}/config.yaml`,
    stringifyMachineConfig(nodeConfig(secrets, "e2e-node-2")),
  );
  await Deno.writeTextFile(
    `${dir.path}/bad.yaml`,
    "version: v1alpha1\nmachine:\n  type: nope\n",
  );
  const port = freePort();
  await using vm = await startVm({
    ...image.boot,
    cmdline: composeCmdline(image.cmdline, ["panic=-1"]),
    disk: image.disk,
    forwards: [{ hostPort: port, guestPort: 50000 }],
  });
  const endpoint = `127.0.0.1:${port}`;

  await t.step(
    "the console shows maintenance mode and the fingerprint",
    async () => {
      await vm.console.waitFor(/no machine config: maintenance mode/, {
        timeoutMs: BOOT_TIMEOUT_MS,
      });
      const banner = await vm.console.waitFor(
        /maintenance mode: apid on 10\.0\.2\.15:50000 .*SHA-256 ([0-9A-F:]{95})/,
        { timeoutMs: BOOT_TIMEOUT_MS },
      );
      assertEquals(banner.match[1], await servedFingerprint(port));
      await vm.console.waitFor(
        /osctl apply-config --insecure -n 10\.0\.2\.15 -f/,
        { timeoutMs: 5000 },
      );
    },
  );

  await t.step("only ApplyConfiguration and Version are served", async () => {
    const channel = new TlsChannel(endpoint, {
      ca: "",
      insecureSkipVerify: true,
    });
    try {
      const v = await channel.unary(
        MachineServiceService.version,
        { metadata: undefined },
        { timeoutMs: 30_000 },
      );
      assertEquals(v.messages[0].platform?.mode, "maintenance");
      const err = await assertRejects(() =>
        channel.unary(
          MachineServiceService.serviceList,
          { metadata: undefined },
          { timeoutMs: 30_000 },
        )
      );
      assert(err instanceof ApiError, String(err));
      assertEquals(err.status, "PermissionDenied");
    } finally {
      channel.close();
    }
  });

  await t.step("a bad config is refused with every problem", async () => {
    const r = await osctl([
      "apply-config",
      "--insecure",
      "-e",
      endpoint,
      "-f",
      `${dir.path}/bad.yaml`,
    ]);
    assertEquals(r.code, 1);
    assertIncludes(r.stderr, 'unknown machine type "nope"');
    assertIncludes(r.stderr, "machine token is required");
  });

  await t.step("apply-config --insecure: the node boots with it", async () => {
    const r = await osctl([
      "apply-config",
      "--insecure",
      "-e",
      endpoint,
      "-f",
      `${dir.path}/config.yaml`,
    ]);
    assertEquals(r.code, 0, r.stderr);
    assertIncludes(r.stdout, "Applied in maintenance mode");
    await vm.console.waitFor(/machined: ready: e2e-node-2 at 10\.0\.2\.15/, {
      timeoutMs: BOOT_TIMEOUT_MS,
    });
  });

  await t.step("the applied config's CA now guards the API", async () => {
    const { client } = await adminClient(secrets, port);
    try {
      const h = await client.unary(
        MachineServiceService.hostname,
        { metadata: undefined },
        { timeoutMs: 30_000 },
      );
      assertEquals(h.messages[0].hostname, "e2e-node-2");
    } finally {
      client.close();
    }
  });

  await t.step(
    "the ACPI power button shuts the node down cleanly",
    async () => {
      await vm.qmp("system_powerdown");
      await vm.console.waitFor(/power button pressed: shutting down/, {
        timeoutMs: 30_000,
      });
      await vm.console.waitFor(/shutdown: stop: Every service is stopped/, {
        timeoutMs: 60_000,
      });
      await expectCleanPowerOff(vm);
    },
  );
});
