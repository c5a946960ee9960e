/**
 * The config lifecycle on a real 3-node process-mode cluster: every apply
 * mode through the API and osctl, the history, rollback, patch and edit,
 * refusals, cluster stop/start, and a kill -9 of machined in the middle of
 * applies. Loopback 127.17.1.0/24 only.
 */
import { dirname, join } from "node:path";
import tls from "node:tls";
import {
  type ApplyConfigurationRequest,
  MachineServiceService,
} from "../lib/api/gen/machine/machine.ts";
import {
  type MachineConfig,
  parseMachineConfig,
  stringifyMachineConfig,
} from "../lib/config/mod.ts";
import {
  assert,
  assertEquals,
  assertIncludes,
  waitUntil,
} from "../lib/testing/mod.ts";
import type { ApiClient } from "../cli/client/api_client.ts";
import { startTestCluster } from "./cluster_harness.ts";
import { runOsctl } from "./osctl_runner.ts";

const encoder = new TextEncoder();
const EMPTY = { metadata: undefined };

function applyRequest(
  config: MachineConfig | undefined,
  extra: Partial<ApplyConfigurationRequest> = {},
): ApplyConfigurationRequest {
  return {
    data: config
      ? encoder.encode(stringifyMachineConfig(config))
      : new Uint8Array(),
    mode: "no_reboot",
    dryRun: false,
    tryModeTimeoutMs: 0,
    force: false,
    rollback: 0,
    ...extra,
  };
}

async function running(api: ApiClient): Promise<MachineConfig> {
  const r = await api.unary(MachineServiceService.getMachineConfig, EMPTY);
  return parseMachineConfig(r.messages[0].data);
}

async function hostname(api: ApiClient): Promise<string> {
  const r = await api.unary(MachineServiceService.hostname, EMPTY);
  return r.messages[0].hostname;
}

async function pids(api: ApiClient): Promise<Record<string, number>> {
  const r = await api.unary(MachineServiceService.serviceList, EMPTY);
  return Object.fromEntries(
    r.messages[0].services.map((s) => [s.id, s.pid]),
  );
}

function withHostname(c: MachineConfig, name: string): MachineConfig {
  const out = structuredClone(c);
  out.machine.network = { ...out.machine.network, hostname: name };
  return out;
}

Deno.test({
  name: "config lifecycle on a 3-node process cluster",
  sanitizeOps: false,
  sanitizeResources: false,
}, async (t) => {
  await using cluster = await startTestCluster({
    cidr: "127.17.1.0/24",
    name: "cfg",
  });
  const [cp, w1, w2] = cluster.addresses;
  using api = await cluster.client({ endpoint: w1 });
  const clustersEnv = { BRONZE_CLUSTERS_DIR: dirname(cluster.dir) };

  await t.step(
    "no-reboot hostname: Hostname and Version see it, no service restarted",
    async () => {
      const before = await pids(api);
      const config = await running(api);
      const r = await api.unary(
        MachineServiceService.applyConfiguration,
        applyRequest(withHostname(config, "renamed-w1")),
      );
      assertEquals(r.messages[0].mode, "no_reboot");
      assertEquals(await hostname(api), "renamed-w1");
      const v = await api.unary(MachineServiceService.version, EMPTY);
      assertEquals(v.messages[0].metadata?.hostname, "renamed-w1");
      assertEquals(await pids(api), before);
      const h = await api.unary(MachineServiceService.configHistory, {
        withDiff: false,
      });
      const last = h.messages[0].records.at(-1)!;
      assertEquals([last.mode, last.actor, last.current], [
        "no_reboot",
        "test-os:admin",
        true,
      ]);
    },
  );

  await t.step(
    "certSANs change live: reissued, a new mTLS connection sees it, no call fails",
    async () => {
      using cpApi = await cluster.client({ endpoint: cp });
      const pair = await cluster.ca.issueKeyPair({
        commonName: "san-check",
        organizations: ["os:reader"],
        usages: ["clientAuth"],
        ttlMs: 3600_000,
      });
      const sees = (name: string) =>
        new Promise<boolean>((resolve) => {
          const sock = tls.connect({
            host: cp,
            port: 50000,
            servername: name,
            ca: cluster.ca.crtPem,
            cert: pair.crt,
            key: pair.key,
            ALPNProtocols: ["h2"],
          });
          sock.once("secureConnect", () => {
            sock.destroy();
            resolve(true);
          });
          sock.once("error", () => {
            sock.destroy();
            resolve(false);
          });
        });
      assertEquals(await sees("live-san.example.org"), false);
      let calls = 0;
      const failures: string[] = [];
      let stop = false;
      const load = (async () => {
        while (!stop) {
          try {
            await cpApi.unary(MachineServiceService.version, EMPTY, {
              timeoutMs: 10_000,
            });
            calls++;
          } catch (err) {
            failures.push(String(err));
          }
        }
      })();
      const config = await running(cpApi);
      config.machine.certSANs = [
        ...(config.machine.certSANs ?? []),
        "live-san.example.org",
      ];
      const r = await cpApi.unary(
        MachineServiceService.applyConfiguration,
        applyRequest(config),
      );
      assertEquals(r.messages[0].mode, "no_reboot");
      await waitUntil(() => sees("live-san.example.org"), {
        timeoutMs: 30_000,
      });
      // Calls go on over the rotation.
      const after = calls;
      await waitUntil(() => calls > after + 20, { timeoutMs: 30_000 });
      stop = true;
      await load;
      assertEquals(failures, []);
    },
  );

  await t.step(
    "a field that needs a reboot is refused in no-reboot, named",
    async () => {
      const config = await running(api);
      const before = config.machine.install;
      config.machine.install = { disk: "/dev/vdz" };
      const r = await cluster.osctl([
        "-n",
        w1,
        "apply-config",
        "-f",
        await file(cluster.dir, "sans.yaml", config),
        "--mode",
        "no-reboot",
      ]);
      assertEquals(r.code, 1, r.stdout);
      assertIncludes(r.stderr, ".machine.install.disk needs a reboot");
      assertEquals((await running(api)).machine.install, before);
    },
  );

  await t.step("dry-run prints the diff and changes nothing", async () => {
    const config = withHostname(await running(api), "dry-name");
    const r = await cluster.osctl([
      "-n",
      w1,
      "apply-config",
      "-f",
      await file(cluster.dir, "dry.yaml", config),
      "--dry-run",
    ]);
    assertEquals(r.code, 0, r.stderr);
    assertIncludes(r.stdout, "Dry run summary:");
    assertIncludes(r.stdout, "+    hostname: dry-name");
    assert(!r.stdout.includes(config.machine.token), "the token is redacted");
    assertEquals(await hostname(api), "renamed-w1");
  });

  await t.step("apply-config to several nodes answers for each", async () => {
    const config = await running(api);
    const path = await file(cluster.dir, "w1.yaml", config);
    const r = await cluster.osctl([
      "-n",
      `${cp},${w1},${w2}`,
      "apply-config",
      "-f",
      path,
      "--dry-run",
    ]);
    // The control plane refuses a worker's config; the workers answer.
    assertEquals(r.code, 1, r.stdout);
    assertIncludes(r.stdout, `NODE ${w1}\nDry run summary:`);
    assertIncludes(r.stdout, `NODE ${w2}\nDry run summary:`);
    assertIncludes(r.stderr, `${cp}: `);
    assertIncludes(
      r.stderr,
      "machine.type would change from controlplane to worker",
    );
  });

  await t.step("a config of another cluster is refused", async () => {
    const config = await running(api);
    config.machine.token = "zzzzzz.zzzzzzzzzzzzzzzz";
    const r = await api.unary(
      MachineServiceService.applyConfiguration,
      applyRequest(config),
    ).catch((e) => e);
    assert(r instanceof Error);
    assertIncludes(r.message, "another cluster");
    assertIncludes(r.message, "machine.token");
  });

  await t.step(
    "try: reverted after its timeout, kept when confirmed",
    async () => {
      const config = await running(api);
      await api.unary(
        MachineServiceService.applyConfiguration,
        // Long enough for an osctl run on a loaded host.
        applyRequest(withHostname(config, "tried"), {
          mode: "try",
          tryModeTimeoutMs: 8000,
        }),
      );
      assertEquals(await hostname(api), "tried");
      const h = await cluster.osctl(["-n", w1, "config", "history"]);
      assertIncludes(h.stdout, "trying until");
      await waitUntil(async () => (await hostname(api)) === "renamed-w1", {
        timeoutMs: 30_000,
      });
      await api.unary(
        MachineServiceService.applyConfiguration,
        applyRequest(withHostname(config, "kept"), {
          mode: "try",
          tryModeTimeoutMs: 4000,
        }),
      );
      const confirmed = await api.unary(
        MachineServiceService.applyConfiguration,
        applyRequest(withHostname(config, "kept")),
      );
      assertIncludes(confirmed.messages[0].modeDetails, "No changes");
      // Past the try's end: confirmed, so nothing reverts it.
      await new Promise((r) => setTimeout(r, 4500));
      assertEquals(await hostname(api), "kept");
    },
  );

  await t.step("staged: pending, then applied by a reboot", async () => {
    const config = withHostname(await running(api), "staged-w1");
    config.machine.certSANs = ["staged.example.org"];
    const r = await cluster.osctl([
      "-n",
      w1,
      "apply-config",
      "-f",
      await file(cluster.dir, "staged.yaml", config),
      "--mode",
      "staged",
    ]);
    assertEquals(r.code, 0, r.stderr);
    assertIncludes(r.stdout, "after the next reboot");
    const h = await cluster.osctl(["-n", w1, "config", "history"]);
    assertIncludes(h.stdout, "pending");
    assertEquals(await hostname(api), "kept");
    await api.unary(MachineServiceService.reboot, {});
    await waitUntil(async () => {
      try {
        return (await hostname(api)) === "staged-w1";
      } catch {
        return false;
      }
    }, { timeoutMs: 90_000 });
    assertEquals((await running(api)).machine.certSANs, ["staged.example.org"]);
  });

  await t.step("history and rollback", async () => {
    const r = await cluster.osctl(["-n", w1, "config", "history", "--diff"]);
    assertEquals(r.code, 0, r.stderr);
    assertIncludes(r.stdout, "seed");
    assertIncludes(r.stdout, "staged");
    const back = await cluster.osctl([
      "-n",
      w1,
      "apply-config",
      "--rollback",
      "1",
      "--mode",
      "staged",
    ]);
    assertEquals(back.code, 0, back.stderr);
    assertIncludes(back.stdout, "rolled back to config #");
  });

  await t.step(
    "patch machineconfig on every node reports per node",
    async () => {
      const r = await cluster.osctl([
        "-n",
        `${cp},${w1},${w2}`,
        "patch",
        "machineconfig",
        "-p",
        "machine:\n  logging:\n    level: debug\n",
        "--mode",
        "no-reboot",
      ]);
      assertEquals(r.code, 0, r.stderr);
      for (const n of [cp, w1, w2]) assertIncludes(r.stdout, n);
      using cpApi = await cluster.client({ endpoint: cp });
      assertEquals((await running(cpApi)).machine.logging?.level, "debug");
    },
  );

  await t.step(
    "a network change goes live through networkd's reconciler",
    async () => {
      const config = await running(api);
      config.machine.network = {
        ...config.machine.network,
        interfaces: [{ name: "bronze-none0", mtu: 1400 }],
        nameservers: ["127.17.1.53"],
      };
      const r = await api.unary(
        MachineServiceService.applyConfiguration,
        applyRequest(config),
      );
      assertIncludes(r.messages[0].modeDetails, ".machine.network.interfaces");
      assertEquals((await running(api)).machine.network?.nameservers, [
        "127.17.1.53",
      ]);
      // networkd gone: the change is refused with why, the config kept.
      const stop = await cluster.osctl([
        "-n",
        w1,
        "service",
        "networkd",
        "stop",
      ]);
      assertEquals(stop.code, 0, stop.stderr);
      await waitUntil(async () => {
        const s = await api.unary(MachineServiceService.serviceList, EMPTY);
        return s.messages[0].services.find((x) => x.id === "networkd")
          ?.state ===
          "Finished";
      }, { timeoutMs: 30_000 });
      config.machine.network.nameservers = ["127.17.1.54"];
      const refused = await api.unary(
        MachineServiceService.applyConfiguration,
        applyRequest(config),
      ).catch((e) => e);
      assert(refused instanceof Error, "applied without networkd");
      assertIncludes(refused.message, "live");
      assertEquals((await running(api)).machine.network?.nameservers, [
        "127.17.1.53",
      ]);
      const start = await cluster.osctl([
        "-n",
        w1,
        "service",
        "networkd",
        "start",
      ]);
      assertEquals(start.code, 0, start.stderr);
    },
  );

  await t.step(
    "edit machineconfig: invalid reopened, unchanged applies nothing",
    async () => {
      const script = join(cluster.dir, "editor.sh");
      const count = join(cluster.dir, "editor.count");
      // First run: an invalid type; second: a valid new hostname.
      await Deno.writeTextFile(
        script,
        `#!/bin/sh
n=$(cat "${count}" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "${count}"
if [ $n -eq 1 ]; then sed -i 's/^  type: worker/  type: boss/' "$1"; fi
if [ $n -eq 2 ]; then sed -i 's/^  type: boss/  type: worker/; s/hostname: .*/hostname: edited-w2/' "$1"; fi
`,
        { mode: 0o755 },
      );
      const r = await runOsctl(
        [
          "--osconfig",
          cluster.osconfig,
          "-n",
          w2,
          "edit",
          "machineconfig",
          "--mode",
          "no-reboot",
        ],
        { env: { EDITOR: script } },
      );
      assertEquals(r.code, 0, r.stderr);
      assertIncludes(r.stderr, "not valid, reopening");
      assertIncludes(r.stderr, "(.machine.type)");
      using w2Api = await cluster.client({ endpoint: w2 });
      assertEquals(await hostname(w2Api), "edited-w2");
      const same = await runOsctl(
        ["--osconfig", cluster.osconfig, "-n", w2, "edit", "machineconfig"],
        { env: { EDITOR: "true" } },
      );
      assertEquals(same.code, 0, same.stderr);
      assertIncludes(same.stdout, "no changes: nothing applied");
    },
  );

  await t.step("service apid stop is refused, restart allowed", async () => {
    const r = await cluster.osctl(["-n", w2, "service", "apid", "stop"]);
    assertEquals(r.code, 1);
    assertIncludes(r.stderr, "would lock the node out");
    const restart = await cluster.osctl([
      "-n",
      w2,
      "service",
      "apid",
      "restart",
    ]);
    assertEquals(restart.code, 0, restart.stderr);
    using viaCp = await cluster.client({ endpoint: cp, nodes: [w2] });
    await waitUntil(async () => {
      try {
        return (await hostname(viaCp)) === "edited-w2";
      } catch {
        return false;
      }
    }, { timeoutMs: 30_000 });
  });

  await t.step("get machineconfig: secrets redacted for a reader", async () => {
    using reader = await cluster.client({ roles: ["os:reader"], endpoint: w1 });
    const r = await reader.unary(
      MachineServiceService.getMachineConfig,
      EMPTY,
    );
    assert(r.messages[0].redacted);
    const text = new TextDecoder().decode(r.messages[0].data);
    assertIncludes(text, 'token: "******"');
    const out = await cluster.osctl(["-n", w1, "get", "machineconfig"]);
    assertEquals(out.code, 0, out.stderr);
    assertIncludes(out.stdout, `# NODE ${w1}`);
    assertIncludes(out.stdout, "hostname: staged-w1");
  });

  await t.step("cluster stop and start keep a node's state", async () => {
    const stop = await runOsctl(
      ["cluster", "stop", "--name", "cfg", "--node", w2],
      { env: clustersEnv },
    );
    assertEquals(stop.code, 0, stop.stderr);
    assertIncludes(stop.stdout, "stopped");
    using w2Api = await cluster.client({ endpoint: w2 });
    const down = await hostname(w2Api).then(() => false, () => true);
    assert(down, "the node still answers");
    const start = await runOsctl(
      ["cluster", "start", "--name", "cfg", "--node", w2],
      { env: clustersEnv },
    );
    assertEquals(start.code, 0, start.stderr);
    const rec = JSON.parse(
      await Deno.readTextFile(join(cluster.dir, "cluster.json")),
    );
    const node = cluster.record.nodes.find((n) => n.address === w2)!;
    node.pid = rec.nodes.find((n: { address: string }) => n.address === w2).pid;
    await waitUntil(async () => {
      try {
        return (await hostname(w2Api)) === "edited-w2";
      } catch {
        return false;
      }
    }, { timeoutMs: 90_000 });
  });

  await t.step(
    "kill -9 of machined mid-apply leaves a valid config; cluster start brings it back",
    async () => {
      const node = cluster.record.nodes.find((n) => n.address === w2)!;
      using w2Api = await cluster.client({ endpoint: w2 });
      const config = await running(w2Api);
      const loop = (async () => {
        for (let i = 0; i < 200; i++) {
          await w2Api.unary(
            MachineServiceService.applyConfiguration,
            applyRequest(withHostname(config, `loop-${i}`)),
            { timeoutMs: 5000 },
          );
        }
      })().catch(() => {});
      await new Promise((r) => setTimeout(r, 1500));
      Deno.kill(node.pid, "SIGKILL");
      await loop;
      const stored = parseMachineConfig(
        await Deno.readTextFile(join(node.stateDir, "config", "machine.yaml")),
      );
      assert(
        stored.machine.network!.hostname!.startsWith("loop-") ||
          stored.machine.network!.hostname === "edited-w2",
      );
      const start = await runOsctl(
        [
          "--osconfig",
          cluster.osconfig,
          "cluster",
          "start",
          "--name",
          "cfg",
          "--node",
          w2,
        ],
        { env: clustersEnv },
      );
      assertEquals(start.code, 0, start.stderr);
      const rec = JSON.parse(
        await Deno.readTextFile(join(cluster.dir, "cluster.json")),
      );
      node.pid = rec.nodes.find((n: { address: string }) =>
        n.address === w2
      ).pid;
      await waitUntil(async () => {
        try {
          return (await hostname(w2Api)) === stored.machine.network!.hostname;
        } catch {
          return false;
        }
      }, { timeoutMs: 90_000 });
    },
  );
});

async function file(
  dir: string,
  name: string,
  config: MachineConfig,
): Promise<string> {
  const path = join(dir, name);
  await Deno.writeTextFile(path, stringifyMachineConfig(config), {
    mode: 0o600,
  });
  return path;
}
