/**
 * etcd's certificates are short-lived like the node certificates: with
 * --cert-ttl 8s machined renews them every few seconds, etcd stays healthy
 * (it reads its files at each handshake), and a member restarted after the
 * renewals rejoins its peer with the new certificates. Addresses:
 * 127.18.5.0/24.
 */
import { MachineServiceService } from "../lib/api/gen/machine/machine.ts";
import { loadSecretsBundle } from "../lib/config/mod.ts";
import { EtcdClient } from "../lib/etcd/mod.ts";
import { base64ToPem } from "../lib/pem/mod.ts";
import {
  CertificateAuthority,
  parseCertificate,
  verifyCertificate,
} from "../lib/pki/mod.ts";
import { assert, assertEquals, waitUntil } from "../lib/testing/mod.ts";
import { startTestCluster } from "./cluster_harness.ts";

Deno.test("etcd certificates renew at half-life without losing the cluster", async (t) => {
  await using cluster = await startTestCluster({
    cidr: "127.18.5.0/24",
    nodes: 2,
    controlPlanes: 2,
    name: "etcdrot",
    machinedArgs: ["--cert-ttl", "8s"],
  });
  const [cp1, cp2] = cluster.addresses;
  const secrets = await loadSecretsBundle(`${cluster.dir}/secrets.yaml`);
  const etcdCaPem = base64ToPem(secrets.certs.etcd!.crt);
  const etcdCa = await CertificateAuthority.fromPem(
    etcdCaPem,
    base64ToPem(secrets.certs.etcd!.key),
  );
  const pair = await etcdCa.issueKeyPair({
    commonName: "test",
    usages: ["clientAuth"],
    ttlMs: 600_000,
  });
  const etcdAt = (address: string) =>
    new EtcdClient({
      endpoints: [`https://${address}:2379`],
      tls: { ca: etcdCaPem, cert: pair.crt, key: pair.key },
    });
  const certDir = `${cluster.record.nodes[1].stateDir}/certs/etcd`;
  const serial = async (f: string) =>
    (await parseCertificate(await Deno.readTextFile(`${certDir}/${f}`)))
      .serialNumber;

  await t.step("short-lived, from the etcd CA, renewed", async () => {
    const peer = await Deno.readTextFile(`${certDir}/peer.crt`);
    const info = await parseCertificate(peer);
    const life = info.notAfter.getTime() - Date.now();
    assert(life > 0 && life <= 8000, `peer certificate lives ${life} ms`);
    assert(await verifyCertificate(peer, etcdCaPem));
    assertEquals(info.ipAddresses.includes(cp2), true);
    const first = [await serial("peer.crt"), await serial("server.crt")];
    let renewals = 0;
    let last = first;
    await waitUntil(async () => {
      const now = [await serial("peer.crt"), await serial("server.crt")];
      if (now[0] !== last[0] && now[1] !== last[1]) {
        renewals++;
        last = now;
      }
      return renewals >= 2;
    }, { timeoutMs: 30_000, intervalMs: 200, what: "two renewals" });
  });

  await t.step(
    "etcd stays healthy and a restarted member rejoins with new certificates",
    async () => {
      await etcdAt(cp1).put("/bronze/rot", "1");
      using admin = await cluster.client({ nodes: [cp2] });
      const etcd = async () =>
        (await admin.unary(MachineServiceService.serviceList, {
          metadata: undefined,
        }, { singleNode: true, timeoutMs: 10_000 })).messages[0].services.find((
          s,
        ) => s.id === "etcd")!;
      const before = await etcd();
      assert(before.health?.healthy, JSON.stringify(before.health));
      Deno.kill(before.pid, "SIGKILL");
      await waitUntil(async () => {
        const s = await etcd();
        return s.pid !== before.pid && s.state === "Running" &&
          s.health?.healthy === true;
      }, { timeoutMs: 60_000, intervalMs: 500, what: "cp2's etcd back" });
      await etcdAt(cp1).put("/bronze/rot", "2");
      await waitUntil(
        async () =>
          await etcdAt(cp2).get("/bronze/rot").catch(() => "") === "2",
        {
          timeoutMs: 20_000,
          what: "the write replicated to the restarted member",
        },
      );
      const members = await etcdAt(cp2).memberList();
      assertEquals(members.filter((m) => !m.isLearner).length, 2);
    },
  );
});
