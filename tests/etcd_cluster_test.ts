/**
 * etcd across a real process-mode cluster of 3 control planes and 1 worker
 * made by `osctl cluster create`'s code, which bootstraps etcd and waits for
 * every control plane to be a voter: `osctl etcd members|status` with NODE
 * columns and -o json, Bootstrap refused on a member, roles, a worker's
 * refusal, data through the cluster, and kill -9 of the leader's etcd.
 * Addresses: 127.18.1.0/24.
 */
import {
  MachineServiceService,
  type ServiceInfo,
} from "../lib/api/gen/machine/machine.ts";
import { ApiError } from "../lib/api_error/mod.ts";
import { loadSecretsBundle } from "../lib/config/mod.ts";
import { EtcdClient, memberIdHex } from "../lib/etcd/mod.ts";
import { base64ToPem } from "../lib/pem/mod.ts";
import { CertificateAuthority } from "../lib/pki/mod.ts";
import {
  assert,
  assertEquals,
  assertIncludes,
  assertRejects,
  tempDir,
  waitUntil,
} from "../lib/testing/mod.ts";
import { startTestCluster } from "./cluster_harness.ts";

function tableRows(text: string): string[][] {
  return text.trimEnd().split("\n").map((l) => l.split(/ {3,}/));
}

Deno.test("etcd on 3 control planes and a worker", async (t) => {
  await using cluster = await startTestCluster({
    cidr: "127.18.1.0/24",
    nodes: 4,
    controlPlanes: 3,
    name: "etcd3",
  });
  const cps = cluster.addresses.slice(0, 3);
  const worker = cluster.addresses[3];
  const secrets = await loadSecretsBundle(`${cluster.dir}/secrets.yaml`);
  const etcdCa = await CertificateAuthority.fromPem(
    base64ToPem(secrets.certs.etcd!.crt),
    base64ToPem(secrets.certs.etcd!.key),
  );
  const pair = await etcdCa.issueKeyPair({
    commonName: "test",
    usages: ["clientAuth"],
    ttlMs: 3600_000,
  });
  const etcdAt = (address: string) =>
    new EtcdClient({
      endpoints: [`https://${address}:2379`],
      tls: { ca: etcdCa.crtPem, cert: pair.crt, key: pair.key },
    });

  await t.step(
    "etcd members: every control plane sees the 3 voters",
    async () => {
      const r = await cluster.osctl(["-n", cps.join(","), "etcd", "members"]);
      assertEquals(r.code, 0, r.stderr);
      const rows = tableRows(r.stdout);
      assertEquals(rows[0], [
        "NODE",
        "ID",
        "HOSTNAME",
        "PEER URLS",
        "CLIENT URLS",
        "LEARNER",
      ]);
      assertEquals(rows.length, 1 + 3 * 3);
      for (const cp of cps) {
        const mine = rows.filter((row) => row[0] === cp);
        assertEquals(mine.map((row) => row[2]).sort(), [
          "etcd3-controlplane-1",
          "etcd3-controlplane-2",
          "etcd3-controlplane-3",
        ]);
        assert(mine.every((row) => row[5] === "false"), r.stdout);
        assert(mine.every((row) => /^[0-9a-f]{16}$/.test(row[1])), r.stdout);
      }
      const json = await cluster.osctl([
        "-n",
        cps.join(","),
        "-o",
        "json",
        "etcd",
        "members",
      ]);
      assertEquals(json.code, 0, json.stderr);
      const parsed = JSON.parse(json.stdout) as {
        messages: {
          metadata: { hostname: string };
          members: { id: string; hostname: string }[];
        }[];
      };
      assertEquals(parsed.messages.length, 3);
      const ids = parsed.messages.map((m) =>
        m.members.map((x) => x.id).sort().join()
      );
      assertEquals(new Set(ids).size, 1, "every node sees the same members");
      // The table's hex is the wire's decimal.
      const first = parsed.messages[0].members[0];
      assert(rows.some((row) => row[1] === memberIdHex(first.id)));
    },
  );

  await t.step("etcd status: one leader for all; -o yaml", async () => {
    const r = await cluster.osctl(["-n", cps.join(","), "etcd", "status"]);
    assertEquals(r.code, 0, r.stderr);
    const rows = tableRows(r.stdout).slice(1);
    assertEquals(rows.length, 3);
    assertEquals(new Set(rows.map((row) => row[4])).size, 1, r.stdout);
    assertEquals(new Set(rows.map((row) => row[1])).size, 3, r.stdout);
    const y = await cluster.osctl([
      "-n",
      cps[0],
      "-o",
      "yaml",
      "etcd",
      "status",
    ]);
    assertEquals(y.code, 0, y.stderr);
    assertIncludes(y.stdout, "protocolVersion: 3.4.23");
  });

  await t.step("osctl health passes, and names a stopped etcd", async () => {
    const all = ["-n", cluster.addresses.join(",")];
    const ok = await cluster.osctl([...all, "health", "--wait-timeout", "60s"]);
    assertEquals(ok.code, 0, ok.stderr);
    assertIncludes(
      ok.stderr,
      `control plane: ${cps.join(", ")}; worker: ${worker}`,
    );
    assertIncludes(ok.stderr, "waiting for etcd to be healthy: OK");
    assertIncludes(
      ok.stderr,
      "waiting for etcd members to be control plane nodes: OK",
    );
    assertIncludes(ok.stderr, "waiting for all services to be healthy: OK");
    const stop = await cluster.osctl(["-n", cps[2], "service", "etcd", "stop"]);
    assertEquals(stop.code, 0, stop.stderr);
    const bad = await cluster.osctl([
      "--nodes",
      cluster.addresses.join(","),
      "health",
      "--control-plane-nodes",
      cps.join(","),
      "--worker-nodes",
      worker,
      "--wait-timeout",
      "8s",
    ]);
    assertEquals(bad.code, 1, bad.stderr);
    assertIncludes(
      bad.stderr,
      `error: etcd to be healthy: ${cps[2]}: etcd is Finished`,
    );
    const start = await cluster.osctl([
      "-n",
      cps[2],
      "service",
      "etcd",
      "start",
    ]);
    assertEquals(start.code, 0, start.stderr);
    const again = await cluster.osctl([
      ...all,
      "health",
      "--wait-timeout",
      "90s",
    ]);
    assertEquals(again.code, 0, again.stderr);
  });

  await t.step("bootstrap is refused on a member of the cluster", async () => {
    const r = await cluster.osctl(["-n", cps[1], "bootstrap"]);
    assert(r.code !== 0, r.stdout);
    assertIncludes(r.stderr, "etcd data directory is not empty");
  });

  await t.step("roles: readers read, only admins bootstrap", async () => {
    using reader = await cluster.client({
      roles: ["os:reader"],
      nodes: [cps[0]],
    });
    const list = await reader.unary(
      MachineServiceService.etcdMemberList,
      { queryLocal: false },
      { singleNode: true, timeoutMs: 10_000 },
    );
    assertEquals(list.messages[0].members.length, 3);
    const err = await assertRejects(
      () =>
        reader.unary(MachineServiceService.bootstrap, {
          recoverEtcd: false,
          recoverSkipHashCheck: false,
        }, { singleNode: true, timeoutMs: 10_000 }),
      ApiError,
      "not authorized",
    );
    assertEquals(err.status, "PermissionDenied");
  });

  await t.step("a worker has no etcd", async () => {
    const r = await cluster.osctl(["-n", worker, "etcd", "members"]);
    assert(r.code !== 0, r.stdout);
    assertIncludes(r.stderr, "only supported on control plane nodes");
  });

  await t.step(
    "data written through one member is read through another",
    async () => {
      await etcdAt(cps[0]).put("/bronze/etcd-test", "replicated");
      await waitUntil(
        async () =>
          await etcdAt(cps[2]).get("/bronze/etcd-test") === "replicated",
        { timeoutMs: 10_000, what: "the key on the third member" },
      );
    },
  );

  await t.step("etcd snapshot: a file etcdctl reads, admin only", async () => {
    await using dir = await tempDir();
    const file = `${dir.path}/etcd.snapshot`;
    const r = await cluster.osctl(["-n", cps[1], "etcd", "snapshot", file]);
    assertEquals(r.code, 0, r.stderr);
    assertIncludes(r.stderr, "etcd snapshot saved to");
    assertEquals((await Deno.stat(file)).mode! & 0o777, 0o600);
    const status = await new Deno.Command("etcdctl", {
      args: ["snapshot", "status", file, "-w", "json"],
      env: { ETCDCTL_API: "3" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(status.stdout);
    assert(status.success, new TextDecoder().decode(status.stderr));
    const info = JSON.parse(text) as { totalKey: number; revision: number };
    assert(info.totalKey >= 1 && info.revision >= 2, text);
    using reader = await cluster.client({
      roles: ["os:reader"],
      nodes: [cps[1]],
    });
    const err = await assertRejects(async () => {
      for await (
        const _ of reader.stream(MachineServiceService.etcdSnapshot, {}, {
          singleNode: true,
        })
      ) {
        // nothing may arrive
      }
    }, ApiError);
    assertEquals(err.status, "PermissionDenied");
  });

  await t.step("alarm list, defrag, forfeit-leadership", async () => {
    const alarms = await cluster.osctl(["-n", cps[0], "etcd", "alarm", "list"]);
    assertEquals(alarms.code, 0, alarms.stderr);
    assertEquals(tableRows(alarms.stdout), [["NODE", "MEMBER", "ALARM"]]);
    const disarm = await cluster.osctl([
      "-n",
      cps[0],
      "etcd",
      "alarm",
      "disarm",
    ]);
    assertEquals(disarm.code, 0, disarm.stderr);
    const defrag = await cluster.osctl(["-n", cps[1], "etcd", "defrag"]);
    assertEquals(defrag.code, 0, defrag.stderr);
    const before = await etcdAt(cps[0]).status();
    const members = await etcdAt(cps[0]).memberList();
    const leader = members.find((m) => m.id === before.leader)!;
    const at = cps.find((a) =>
      leader.clientUrls.includes(`https://${a}:2379`)
    )!;
    const r = await cluster.osctl(["-n", at, "etcd", "forfeit-leadership"]);
    assertEquals(r.code, 0, r.stderr);
    const row = tableRows(r.stdout)[1];
    assertEquals(row[0], at);
    assert(row[1] && row[1] !== leader.name, r.stdout);
    await waitUntil(async () => {
      const s = await etcdAt(cps[0]).status().catch(() => undefined);
      return s && s.leader !== "0" && s.leader !== leader.id;
    }, { timeoutMs: 20_000, what: "leadership handed on" });
    // A follower has nothing to forfeit: an empty member name.
    const again = await cluster.osctl([
      "-n",
      at,
      "-o",
      "json",
      "etcd",
      "forfeit-leadership",
    ]);
    assertEquals(again.code, 0, again.stderr);
  });

  await t.step(
    "kill -9 of the leader's etcd: a new election, writes go on, the old one rejoins",
    async () => {
      const status = await etcdAt(cps[0]).status();
      const members = await etcdAt(cps[0]).memberList();
      const leader = members.find((m) => m.id === status.leader)!;
      const leaderAddress = cps.find((a) =>
        leader.clientUrls.includes(`https://${a}:2379`)
      )!;
      using admin = await cluster.client({ nodes: [leaderAddress] });
      const etcdService = async (): Promise<ServiceInfo> => {
        const r = await admin.unary(MachineServiceService.serviceList, {
          metadata: undefined,
        }, { singleNode: true, timeoutMs: 10_000 });
        return r.messages[0].services.find((s) => s.id === "etcd")!;
      };
      const before = await etcdService();
      assert(before.pid > 0);
      Deno.kill(before.pid, "SIGKILL");
      const others = cps.filter((a) => a !== leaderAddress);
      await waitUntil(async () => {
        // A new election: a later term with a leader (the restarted member
        // may win it again, under its old id).
        const s = await etcdAt(others[0]).status().catch(() => undefined);
        return s && s.leader !== "0" &&
          BigInt(s.raftTerm) > BigInt(status.raftTerm);
      }, { timeoutMs: 30_000, intervalMs: 250, what: "a new election" });
      await waitUntil(
        () =>
          etcdAt(others[1]).put("/bronze/after-kill", "yes").then(() => true)
            .catch(() => false),
        { timeoutMs: 20_000, what: "a write after the kill" },
      );
      await waitUntil(async () => {
        const s = await etcdService();
        return s.state === "Running" && s.health?.healthy &&
          s.pid !== before.pid;
      }, {
        timeoutMs: 60_000,
        intervalMs: 500,
        what: "the old leader's etcd back",
      });
      await waitUntil(
        async () =>
          await etcdAt(leaderAddress).get("/bronze/after-kill").catch(() =>
            undefined
          ) === "yes",
        { timeoutMs: 20_000, what: "the rejoined member has the new write" },
      );
    },
  );

  await t.step(
    "leave, then rejoin as a learner promoted to a voter",
    async () => {
      const cp3 = cps[2];
      const left = await cluster.osctl(["-n", cp3, "etcd", "leave"]);
      assertEquals(left.code, 0, left.stderr);
      const after = await etcdAt(cps[0]).memberList();
      assertEquals(
        after.map((m) => m.name).sort(),
        ["etcd3-controlplane-1", "etcd3-controlplane-2"],
      );
      const r = await cluster.osctl(["-n", cp3, "service", "etcd"]);
      assertEquals(r.code, 0, r.stderr);
      assertIncludes(r.stdout, "Finished");
      // The member is gone: removing it again is NotFound.
      const gone = await cluster.osctl(["-n", cps[0], "etcd", "members"]);
      assert(!gone.stdout.includes("etcd3-controlplane-3"), gone.stdout);
      const start = await cluster.osctl([
        "-n",
        cp3,
        "service",
        "etcd",
        "start",
      ]);
      assertEquals(start.code, 0, start.stderr);
      await waitUntil(async () => {
        const list = await etcdAt(cps[0]).memberList().catch(() => []);
        return list.length === 3 && list.every((m) => !m.isLearner);
      }, { timeoutMs: 90_000, intervalMs: 500, what: "3 voters again" });
      await waitUntil(
        async () =>
          await etcdAt(cp3).get("/bronze/etcd-test").catch(() => undefined) ===
            "replicated",
        { timeoutMs: 20_000, what: "the rejoined member has the data" },
      );
    },
  );

  await t.step(
    "remove-member: an unknown id is refused, a bad one is a usage error",
    async () => {
      const bad = await cluster.osctl([
        "-n",
        cps[0],
        "etcd",
        "remove-member",
        "123abc",
      ]);
      assert(bad.code !== 0, bad.stdout);
      assertIncludes(bad.stderr, "is not in the member list");
      const usage = await cluster.osctl(["etcd", "remove-member", "xyz"]);
      assertEquals(usage.code, 2);
    },
  );
});
