/**
 * Issue-level tests of the API against a real 3-node process-mode cluster
 * made by `osctl cluster create`'s code: fan-out, forwarding, roles, service
 * restarts on remote and local nodes, partial failures, merged streams.
 */
import {
  GenerateClientConfigurationRequest,
  MachineServiceService,
  type ServiceInfo,
} from "../lib/api/gen/machine/machine.ts";
import { ApiError } from "../lib/api_error/mod.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  waitUntil,
} from "../lib/testing/mod.ts";
import type { ApiClient } from "../cli/client/api_client.ts";
import { startTestCluster } from "./cluster_harness.ts";

const M = MachineServiceService;
const EMPTY = { metadata: undefined };

async function services(client: ApiClient): Promise<Map<string, ServiceInfo>> {
  const reply = await client.unary(M.serviceList, EMPTY, {
    timeoutMs: 10_000,
    singleNode: client.nodes.length === 1,
  });
  assertEquals(reply.messages.length, 1);
  return new Map(reply.messages[0].services.map((s) => [s.id, s]));
}

async function restartAndWait(client: ApiClient, id: string): Promise<void> {
  const before = (await services(client)).get(id)!;
  assertEquals(before.state, "Running");
  const reply = await client.unary(M.serviceRestart, { id }, {
    timeoutMs: 10_000,
    singleNode: client.nodes.length === 1,
  });
  assert(
    reply.messages[0].resp.startsWith(`Service "${id}" restart`),
    reply.messages[0].resp,
  );
  await waitUntil(async () => {
    const s = (await services(client)).get(id);
    return s && s.state === "Running" && s.pid !== before.pid &&
      s.health?.healthy === true;
  }, {
    timeoutMs: 60_000,
    intervalMs: 250,
    what: `${id} running again with a new pid`,
  });
}

Deno.test("API on a 3-node process-mode cluster", async (t) => {
  await using cluster = await startTestCluster({ cidr: "127.5.10.0/24" });
  const [cp, w1, w2] = cluster.addresses;
  using admin = await cluster.client({ nodes: cluster.addresses });
  await t.step(
    "version with nodes = all gives one entry per node",
    async () => {
      const reply = await admin.unary(M.version, EMPTY, {
        timeoutMs: 10_000,
      });
      assertEquals(
        reply.messages.map((m) => m.metadata?.hostname).sort(),
        [...cluster.addresses].sort(),
      );
      for (const m of reply.messages) {
        assertEquals(m.metadata?.error ?? "", "");
        assertEquals(m.version?.denoVersion, Deno.version.deno);
      }
      const names = await admin.unary(M.hostname, EMPTY, {
        timeoutMs: 10_000,
      });
      assertEquals(
        names.messages.map((m) => m.hostname).sort(),
        ["test-controlplane-1", "test-worker-1", "test-worker-2"],
      );
    },
  );

  await t.step("node = a worker through the control plane", async () => {
    using c = await cluster.client({ nodes: [w1] });
    const reply = await c.unary(M.hostname, EMPTY, {
      singleNode: true,
      timeoutMs: 10_000,
    });
    assertEquals(reply.messages.length, 1);
    assertEquals(reply.messages[0].hostname, "test-worker-1");
  });

  await t.step(
    "a worker as endpoint refuses to forward, serves itself",
    async () => {
      {
        using c = await cluster.client({ endpoint: w1, nodes: [w2] });
        const err = await assertRejects(() =>
          c.unary(M.version, EMPTY, { timeoutMs: 10_000 })
        );
        assert(err instanceof ApiError, String(err));
        assertEquals(err.status, "PermissionDenied");
        assertEquals(err.message, "no request forwarding");
      }
      using self = await cluster.client({ endpoint: w1, nodes: [w1] });
      const reply = await self.unary(M.hostname, EMPTY, {
        timeoutMs: 10_000,
      });
      assertEquals(reply.messages.length, 1);
      assertEquals(reply.messages[0].hostname, "test-worker-1");
    },
  );

  await t.step("roles: reader, operator and admin", async () => {
    using reader = await cluster.client({
      roles: ["os:reader"],
      nodes: [w1],
    });
    using operator = await cluster.client({
      roles: ["os:operator"],
      nodes: [w1],
    });
    for (
      const call of [
        () => reader.unary(M.reboot, {}, { singleNode: true }),
        () =>
          reader.unary(M.serviceRestart, { id: "udevd" }, {
            singleNode: true,
          }),
        () =>
          reader.unary(
            M.generateClientConfiguration,
            GenerateClientConfigurationRequest.fromPartial({
              roles: ["os:reader"],
            }),
            { singleNode: true },
          ),
        () =>
          operator.unary(
            M.generateClientConfiguration,
            GenerateClientConfigurationRequest.fromPartial({
              roles: ["os:reader"],
            }),
            { singleNode: true },
          ),
      ]
    ) {
      const err = await assertRejects(call);
      assert(err instanceof ApiError, String(err));
      assertEquals(err.status, "PermissionDenied");
    }
    // Readers read.
    const v = await reader.unary(M.version, EMPTY, { singleNode: true });
    assertEquals(v.messages.length, 1);
    await restartAndWait(operator, "udevd");
    const minted = await admin.unary(
      M.generateClientConfiguration,
      GenerateClientConfigurationRequest.fromPartial({
        roles: ["os:reader"],
        crtTtlSeconds: 3600,
      }),
      { timeoutMs: 15_000 },
    );
    const good = minted.messages.filter((m) => !m.metadata?.error);
    assert(
      good.length >= 1,
      JSON.stringify(minted.messages.map((m) => m.metadata)),
    );
    assert(
      new TextDecoder().decode(good[0].osconfig).includes("contexts:"),
    );
  });

  const restarts = [
    {
      name:
        "restart apid, networkd, udevd on a remote worker through the control plane",
      node: w2,
      ids: ["apid", "networkd", "udevd"],
    },
    {
      name: "restart trustd and apid on the control plane itself",
      node: cp,
      ids: ["trustd", "apid"],
    },
  ];
  for (const { name, node, ids } of restarts) {
    await t.step(name, async () => {
      using c = await cluster.client({ nodes: [node] });
      for (const id of ids) await restartAndWait(c, id);
      const v = await c.unary(M.version, EMPTY, {
        singleNode: true,
        timeoutMs: 10_000,
      });
      assertEquals(v.messages.length, 1);
    });
  }

  await t.step(
    "logs -f and events from three nodes arrive merged and stop when cancelled",
    async () => {
      const ac = new AbortController();
      const seen = new Set<string>();
      const stream = admin.stream(M.logs, {
        id: "machined",
        follow: true,
        tailLines: 5,
      }, { signal: ac.signal });
      const t0 = Date.now();
      for await (const msg of stream) {
        seen.add(msg.metadata?.hostname ?? "");
        if (seen.size === 3) break; // breaking out cancels every leg
      }
      assertEquals([...seen].sort(), [...cluster.addresses].sort());
      assert(Date.now() - t0 < 20_000);
      const evSeen = new Set<string>();
      for await (
        const ev of admin.stream(M.events, { tailEvents: 3, follow: true }, {
          signal: ac.signal,
        })
      ) {
        evSeen.add(ev.metadata?.hostname ?? "");
        if (evSeen.size === 3) break;
      }
      assertEquals(evSeen.size, 3);
      ac.abort();
    },
  );

  await t.step(
    "one apid frozen by SIGSTOP: two answers and one error within the leg deadline",
    async () => {
      const c = await cluster.client({ nodes: [w1] });
      const apidPid = (await services(c)).get("apid")!.pid;
      c.close();
      Deno.kill(apidPid, "SIGSTOP");
      try {
        const t0 = Date.now();
        const reply = await admin.unary(M.version, EMPTY, {
          timeoutMs: 30_000,
        });
        const took = Date.now() - t0;
        const errors = reply.messages.filter((m) => m.metadata?.error);
        assertEquals(reply.messages.length, 3);
        assertEquals(errors.length, 1);
        assertEquals(errors[0].metadata?.hostname, w1);
        assert(took < 12_000, `merged answer took ${took} ms`);
      } finally {
        Deno.kill(apidPid, "SIGCONT");
      }
    },
  );

  await t.step(
    "one node stopped: two answers and one error, promptly",
    async () => {
      const node = cluster.record.nodes[2];
      Deno.kill(node.pid, "SIGTERM");
      await waitUntil(async () => {
        try {
          return (await Deno.readTextFile(`/proc/${node.pid}/stat`)).includes(
            ") Z",
          );
        } catch {
          return true;
        }
      }, { timeoutMs: 30_000, what: "worker-2 machined exit" });
      const t0 = Date.now();
      const reply = await admin.unary(M.version, EMPTY, {
        timeoutMs: 30_000,
      });
      const errors = reply.messages.filter((m) => m.metadata?.error);
      assertEquals(reply.messages.length, 3);
      assertEquals(errors.map((m) => m.metadata?.hostname), [w2]);
      assert(Date.now() - t0 < 8_000);
    },
  );
});
