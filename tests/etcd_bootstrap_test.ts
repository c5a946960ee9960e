/**
 * etcd on real process-mode control planes (machined as a process, Debian's
 * etcd-server): a waiting member says so in its events, Bootstrap forms the
 * cluster, the member is healthy under mTLS with its own CA, a second
 * Bootstrap is refused, a second control plane joins as a learner and is
 * promoted, and a worker runs no etcd. Addresses: 127.18.0.0/16.
 */
import {
  BootstrapRequest,
  BootstrapResponse,
  EtcdMemberListRequest,
  EtcdMemberListResponse,
  EtcdStatusResponse,
  type Event,
  Event as EventCodec,
  EventsRequest,
} from "../lib/api/gen/machine/machine.ts";
import { Empty } from "../lib/api/gen/common/common.ts";
import https from "node:https";
import { ApiError } from "../lib/api_error/mod.ts";
import { type Bus, callTyped, streamTyped } from "../lib/bus/mod.ts";
import {
  generateMachineConfigs,
  generateSecretsBundle,
  type MachineConfig,
  stringifyMachineConfig,
} from "../lib/config/mod.ts";
import { rpcSubject, streamSubject } from "../lib/constants/mod.ts";
import { EtcdClient, EtcdError } from "../lib/etcd/mod.ts";
import { CertificateAuthority } from "../lib/pki/mod.ts";
import { base64ToPem } from "../lib/pem/mod.ts";
import {
  assert,
  assertEquals,
  assertIncludes,
  assertRejects,
  waitUntil,
} from "../lib/testing/mod.ts";
import { startTestNode, type TestNode } from "./machined_harness.ts";

const CP1 = "127.18.0.2";
const CP2 = "127.18.0.3";
const WORKER = "127.18.0.4";

function nodeConfig(
  base: MachineConfig,
  hostname: string,
): string {
  const c = structuredClone(base);
  c.machine.network = { hostname };
  return stringifyMachineConfig(c);
}

async function bootstrap(bus: Bus): Promise<BootstrapResponse> {
  return await callTyped(
    bus,
    rpcSubject("machined", "Bootstrap"),
    { req: BootstrapRequest, res: BootstrapResponse },
    { recoverEtcd: false, recoverSkipHashCheck: false },
    { timeoutMs: 10_000 },
  );
}

async function members(bus: Bus): Promise<EtcdMemberListResponse> {
  return await callTyped(
    bus,
    rpcSubject("machined", "EtcdMemberList"),
    { req: EtcdMemberListRequest, res: EtcdMemberListResponse },
    { queryLocal: false },
    { timeoutMs: 10_000 },
  );
}

async function events(bus: Bus): Promise<Event[]> {
  const out: Event[] = [];
  for await (
    const e of streamTyped(
      bus,
      streamSubject("machined", "Events"),
      { req: EventsRequest, res: EventCodec },
      { tailEvents: -1, follow: false },
      {},
    )
  ) out.push(e);
  return out;
}

async function refusal(p: Promise<unknown>): Promise<ApiError> {
  return await assertRejects(() => p, ApiError);
}

async function waitEtcdHealthy(node: TestNode): Promise<void> {
  await waitUntil(async () => {
    const s = await node.service("etcd");
    return s.state === "Running" && s.health?.healthy === true;
  }, {
    timeoutMs: 60_000,
    intervalMs: 250,
    what: `etcd healthy on ${node.address}`,
  });
}

Deno.test("etcd: bootstrap, members, refusals, a learner joins", async (t) => {
  const secrets = await generateSecretsBundle();
  const configs = generateMachineConfigs("etcdtest", CP1, { secrets });
  await using cp1 = await startTestNode({
    address: CP1,
    configText: nodeConfig(configs.controlplane, "etcd-cp-1"),
    waitUp: false,
  });
  const bus1 = await cp1.bus();

  await t.step(
    "before bootstrap etcd waits and says so in the events",
    async () => {
      await waitUntil(async () => {
        const s = await cp1.service("etcd").catch(() => undefined);
        return s?.state === "Preparing";
      }, { timeoutMs: 60_000, what: "etcd preparing on cp1" });
      const nag = await waitUntil(
        async () =>
          (await events(bus1)).find((e) =>
            e.service === "etcd" && e.message.includes("run `osctl bootstrap`")
          ),
        { timeoutMs: 30_000, what: "the bootstrap nag in the events" },
      );
      assertIncludes(nag.message, CP1);
      const err = await refusal(members(bus1));
      assertEquals(err.status, "FailedPrecondition");
    },
  );

  await t.step(
    "Bootstrap forms the cluster; the member is healthy",
    async () => {
      const reply = await bootstrap(bus1);
      assertEquals(reply.messages.length, 1);
      await waitEtcdHealthy(cp1);
      const list = await members(bus1);
      assertEquals(list.messages[0].members.length, 1);
      const m = list.messages[0].members[0];
      assertEquals(m.hostname, "etcd-cp-1");
      assertEquals(m.isLearner, false);
      assertEquals(m.peerUrls, [`https://${CP1}:2380`]);
      assertEquals(m.clientUrls, [`https://${CP1}:2379`]);
      assert(/^\d+$/.test(m.id) && m.id !== "0", m.id);
      const status = await callTyped(
        bus1,
        rpcSubject("machined", "EtcdStatus"),
        { req: Empty, res: EtcdStatusResponse },
        { metadata: undefined },
        { timeoutMs: 10_000 },
      );
      const st = status.messages[0].memberStatus!;
      assertEquals(st.memberId, m.id);
      assertEquals(st.leader, m.id);
      assertEquals(st.protocolVersion, "3.4.23");
    },
  );

  await t.step("a second Bootstrap is refused with AlreadyExists", async () => {
    const err = await refusal(bootstrap(bus1));
    assertEquals(err.status, "AlreadyExists");
    assertIncludes(err.message, "not empty");
  });

  await t.step("etcd speaks mTLS with its own CA only", async () => {
    const etcdCa = await CertificateAuthority.fromPem(
      base64ToPem(secrets.certs.etcd!.crt),
      base64ToPem(secrets.certs.etcd!.key),
    );
    const good = await etcdCa.issueKeyPair({
      commonName: "test",
      usages: ["clientAuth"],
      ttlMs: 600_000,
    });
    const caPem = base64ToPem(secrets.certs.etcd!.crt);
    const client = new EtcdClient({
      endpoints: [`https://${CP1}:2379`],
      tls: { ca: caPem, cert: good.crt, key: good.key },
    });
    await client.put("/bronze/test", "hello");
    assertEquals(await client.get("/bronze/test"), "hello");
    // A client certificate from the OS CA is refused.
    const osCa = await CertificateAuthority.fromPem(
      base64ToPem(secrets.certs.os.crt),
      base64ToPem(secrets.certs.os.key),
    );
    const foreign = await osCa.issueKeyPair({
      commonName: "intruder",
      usages: ["clientAuth"],
      ttlMs: 600_000,
    });
    const intruder = new EtcdClient({
      endpoints: [`https://${CP1}:2379`],
      tls: { ca: caPem, cert: foreign.crt, key: foreign.key },
      timeoutMs: 5000,
    });
    await assertRejects(() => intruder.get("/bronze/test"), EtcdError);
    // The peer port likewise: the etcd CA's certificate gets etcd's
    // /version there, the OS CA's is refused in the handshake.
    const peerGet = (cert: string, key: string) =>
      new Promise<string>((resolve, reject) => {
        const req = https.get({
          host: CP1,
          port: 2380,
          path: "/version",
          ca: caPem,
          cert,
          key,
          agent: false,
          signal: AbortSignal.timeout(5000),
        }, (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => body += c);
          res.on("end", () => resolve(body));
          res.on("error", reject);
        });
        req.on("error", reject);
      });
    const peer = await etcdCa.issueKeyPair({
      commonName: "peer",
      ipAddresses: ["127.0.0.1"],
      usages: ["serverAuth", "clientAuth"],
      ttlMs: 600_000,
    });
    assertIncludes(await peerGet(peer.crt, peer.key), "etcdserver");
    await assertRejects(() => peerGet(foreign.crt, foreign.key), Error);
  });

  await t.step("a worker runs no etcd and refuses Bootstrap", async () => {
    await using worker = await startTestNode({
      address: WORKER,
      configText: nodeConfig(configs.worker, "etcd-worker-1"),
      waitUp: false,
    });
    const wbus = await worker.bus();
    await waitUntil(
      async () => (await worker.services().catch(() => [])).length > 0,
      { timeoutMs: 60_000, what: "worker ServiceList" },
    );
    assert(!(await worker.services()).some((s) => s.id === "etcd"));
    const err = await refusal(bootstrap(wbus));
    assertEquals(err.status, "FailedPrecondition");
    assertIncludes(err.message, "control plane");
  });

  await t.step(
    "a second control plane joins as a learner, is promoted, and refuses Bootstrap",
    async () => {
      await using cp2 = await startTestNode({
        address: CP2,
        configText: nodeConfig(configs.controlplane, "etcd-cp-2"),
        waitUp: false,
      });
      const bus2 = await cp2.bus();
      await waitEtcdHealthy(cp2);
      const voters = await waitUntil(async () => {
        const list = (await members(bus1)).messages[0].members;
        return list.length === 2 && list.every((m) => !m.isLearner)
          ? list
          : undefined;
      }, { timeoutMs: 90_000, intervalMs: 500, what: "two voting members" });
      assertEquals(voters.map((m) => m.hostname).sort(), [
        "etcd-cp-1",
        "etcd-cp-2",
      ]);
      const seen = (await events(bus2)).map((e) => e.message);
      assert(seen.some((m) => m.includes("joining the cluster as a learner")));
      assert(seen.some((m) => m.includes("promoted member")));
      const err = await refusal(bootstrap(bus2));
      assertEquals(err.status, "AlreadyExists");
    },
  );
});
