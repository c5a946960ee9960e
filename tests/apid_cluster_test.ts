/**
 * apid in a real 3-node process-mode cluster (one control plane, two
 * workers; real machined, nats-server, trustd, networkd, udevd-lite and
 * apid processes), driven through the control plane's endpoint.
 */
import {
  EventsRequest,
  LogsRequest,
  MachineServiceService as M,
  type ServiceInfo,
} from "../lib/api/gen/machine/machine.ts";
import { ApiError } from "../lib/bus/mod.ts";
import type { ApiClient } from "../cli/client/api_client.ts";
import {
  assert,
  assertEquals,
  assertIncludes,
  waitUntil,
} from "../lib/testing/mod.ts";
import { startTestCluster } from "./cluster_harness.ts";

const EMPTY = { metadata: undefined };

function randomCidr(): string {
  const a = 100 + Math.floor(Math.random() * 150);
  const b = Math.floor(Math.random() * 256);
  return `127.${a}.${b}.0/24`;
}

async function status(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "OK";
  } catch (err) {
    return err instanceof ApiError ? err.status : `thrown: ${err}`;
  }
}

Deno.test("apid in a real cluster", async (t) => {
  await using cluster = await startTestCluster({ cidr: randomCidr() });
  const [cp, w1, w2] = cluster.addresses;
  const clients: ApiClient[] = [];
  const client = async (
    opts: { roles?: string[]; endpoint?: string; nodes?: string[] } = {},
  ) => {
    const c = await cluster.client(opts);
    clients.push(c);
    return c;
  };
  try {
    const all = await client({ nodes: cluster.addresses });
    const one = (node: string) => client({ nodes: [node] });
    const service = async (c: ApiClient, id: string): Promise<ServiceInfo> => {
      const reply = await c.unary(M.serviceList, EMPTY, { timeoutMs: 5000 });
      const s = reply.messages[0]?.services.find((x) => x.id === id);
      if (!s) throw new Error(`no service ${id}`);
      return s;
    };
    const restarted = (c: ApiClient, id: string, oldPid: number) =>
      waitUntil(async () => {
        const s = await service(c, id);
        return s.state === "Running" && s.health?.healthy &&
          s.pid !== oldPid && s.pid > 0;
      }, { timeoutMs: 60000, intervalMs: 300, what: `${id} running again` });

    await t.step(
      "Version with nodes = all three: three tagged entries",
      async () => {
        const reply = await all.unary(M.version, EMPTY);
        assertEquals(
          reply.messages.map((m) => m.metadata?.hostname),
          cluster.addresses,
        );
        assert(reply.messages.every((m) => !m.metadata?.error));
        assert(reply.messages.every((m) => m.platform?.mode === "process"));
      },
    );

    await t.step(
      "node = a worker through the control plane; a worker endpoint refuses",
      async () => {
        const hostname = await (await one(w2)).unary(M.hostname, EMPTY);
        assertEquals(hostname.messages[0].hostname, "test-worker-2");
        const viaWorker = await client({ endpoint: w1, nodes: [cp] });
        const err = await viaWorker.unary(M.version, EMPTY).catch((e) => e);
        assert(err instanceof ApiError, String(err));
        assertEquals(err.status, "PermissionDenied");
        assertIncludes(err.message, "no request forwarding");
      },
    );

    await t.step(
      "one apid frozen (SIGSTOP): two entries and one error, within the leg deadline",
      async () => {
        const apid = await service(await one(w1), "apid");
        Deno.kill(apid.pid, "SIGSTOP");
        try {
          const started = Date.now();
          const reply = await all.unary(M.version, EMPTY, { timeoutMs: 30000 });
          const took = Date.now() - started;
          assertEquals(reply.messages.length, 3);
          assertEquals(
            reply.messages.filter((m) => m.metadata?.error).map((m) =>
              m.metadata?.hostname
            ),
            [w1],
          );
          assert(took < 8000, `took ${took} ms`);
        } finally {
          Deno.kill(apid.pid, "SIGCONT");
        }
      },
    );

    await t.step(
      "one node's apid killed: an error entry, and it comes back",
      async () => {
        const worker = await one(w2);
        const apid = await service(worker, "apid");
        Deno.kill(apid.pid, "SIGKILL");
        const reply = await all.unary(M.version, EMPTY, { timeoutMs: 30000 });
        assertEquals(reply.messages.length, 3);
        assertEquals(reply.messages[2].metadata?.hostname, w2);
        assert(reply.messages[2].metadata?.error, "w2 has an error entry");
        await restarted(worker, "apid", apid.pid);
      },
    );

    await t.step(
      "ServiceRestart of apid, networkd and udevd on a remote worker",
      async () => {
        const worker = await one(w1);
        for (const id of ["apid", "networkd", "udevd"]) {
          const before = await service(worker, id);
          const reply = await worker.unary(M.serviceRestart, { id });
          assert(
            !reply.messages[0].metadata?.error,
            reply.messages[0].metadata?.error,
          );
          await restarted(worker, id, before.pid);
          const v = await worker.unary(M.version, EMPTY);
          assert(!v.messages[0].metadata?.error);
        }
      },
    );

    await t.step(
      "ServiceRestart of trustd and apid on the control plane itself",
      async () => {
        const local = await client();
        for (const id of ["trustd", "apid"]) {
          const before = await service(local, id);
          const reply = await local.unary(M.serviceRestart, { id });
          assertEquals(reply.messages.length, 1);
          await restarted(local, id, before.pid);
        }
        const v = await all.unary(M.version, EMPTY);
        assert(v.messages.every((m) => !m.metadata?.error));
      },
    );

    await t.step(
      "logs -f across three nodes: merged, tagged, stop when cancelled",
      async () => {
        const ac = new AbortController();
        const seen = new Set<string>();
        let n = 0;
        try {
          for await (
            const d of all.stream(
              M.logs,
              LogsRequest.fromPartial({
                id: "machined",
                follow: true,
                tailLines: 5,
              }),
              { signal: ac.signal },
            )
          ) {
            assert(!d.metadata?.error, d.metadata?.error);
            seen.add(d.metadata?.hostname ?? "?");
            if (seen.size === 3 || ++n > 500) ac.abort();
          }
        } catch (err) {
          assert(ac.signal.aborted, String(err));
        }
        assertEquals([...seen].sort(), [...cluster.addresses].sort());
      },
    );

    await t.step("events across three nodes arrive tagged", async () => {
      const ac = new AbortController();
      const seen = new Set<string>();
      try {
        for await (
          const e of all.stream(
            M.events,
            EventsRequest.fromPartial({ tailEvents: 3, follow: true }),
            { signal: ac.signal },
          )
        ) {
          seen.add(e.metadata?.hostname ?? "?");
          if (seen.size === 3) ac.abort();
        }
      } catch (err) {
        assert(ac.signal.aborted, String(err));
      }
      assertEquals([...seen].sort(), [...cluster.addresses].sort());
    });

    await t.step(
      "roles: reader and operator against the real nodes",
      async () => {
        const reader = await client({ roles: ["os:reader"], nodes: [w1] });
        const operator = await client({ roles: ["os:operator"], nodes: [w1] });
        assertEquals(await status(reader.unary(M.version, EMPTY)), "OK");
        assertEquals(
          await status(reader.unary(M.reboot, {})),
          "PermissionDenied",
        );
        assertEquals(
          await status(reader.unary(M.serviceRestart, { id: "networkd" })),
          "PermissionDenied",
        );
        assertEquals(
          await status(
            operator.unary(M.generateClientConfiguration, {
              roles: ["os:reader"],
              crtTtlSeconds: 60,
            }),
          ),
          "PermissionDenied",
        );
      },
    );

    await t.step("osctl config new mints a working reader config", async () => {
      const file = `${cluster.dir}/reader.osconfig`;
      const r = await cluster.osctl([
        "-n",
        cp,
        "config",
        "new",
        file,
        "--roles",
        "os:reader",
        "--crt-ttl",
        "1h",
      ]);
      assertEquals(r.code, 0, r.stderr);
      assertEquals((await Deno.stat(file)).mode! & 0o777, 0o600);
      const v = await cluster.osctl(["--osconfig", file, "version"]);
      assertEquals(v.code, 0, v.stderr);
      assertIncludes(v.stdout, `NODE:        ${cp}`);
      const denied = await cluster.osctl(["--osconfig", file, "reboot"]);
      assertEquals(denied.code, 1);
      assertIncludes(denied.stderr, "not authorized");
    });
  } finally {
    for (const c of clients) c.close();
  }
});
