/**
 * apid fan-out against real processes: three nodes (one control plane, two
 * workers), each a real nats-server and a real apid process.
 */
import { Buffer } from "node:buffer";
import { Data } from "../lib/api/gen/common/common.ts";
import {
  Event,
  EventsRequest,
  LogsRequest,
  VersionResponse,
} from "../lib/api/gen/machine/machine.ts";
import { ApiError } from "../lib/api_error/mod.ts";
import {
  assert,
  assertEquals,
  assertIncludes,
  assertRejects,
  tempDir,
  waitUntil,
} from "../lib/testing/mod.ts";
import {
  apidCrash,
  makePki,
  startNodes,
  type TestNode,
} from "./apid_harness.ts";

const VERSION = "/machine.MachineService/Version";
const LOGS = "/machine.MachineService/Logs";
const EVENTS = "/machine.MachineService/Events";
const EMPTY = new Uint8Array(0);
const LEG_MS = 1500;

Deno.test("apid fans out to many nodes and merges the answers", async (t) => {
  await using dir = await tempDir();
  const pki = await makePki();
  await using cluster = await startNodes(pki, {
    dir: dir.path,
    count: 3,
    legTimeoutMs: LEG_MS,
  });
  const { nodes } = cluster;
  const [cp, w1, w2] = nodes;
  const admin = await pki.client(["os:admin"]);
  const dial = (n: TestNode) => cluster.dial(n, { pair: admin });
  const api = dial(cp);
  const all = [cp.address, w1.address, w2.address];

  await t.step(
    "nodes = all three: three entries tagged as named",
    async () => {
      const reply = VersionResponse.decode(
        await api.unary(VERSION, EMPTY, {
          metadata: { nodes: all },
          timeoutMs: 10000,
        }),
      );
      assertEquals(reply.messages.map((m) => m.metadata?.hostname), all);
      assertEquals(reply.messages.map((m) => m.platform?.name), [
        "cp-1",
        "worker-1",
        "worker-2",
      ]);
      assert(reply.messages.every((m) => !m.metadata?.error));
    },
  );

  await t.step("no target: the local node, untagged", async () => {
    const reply = VersionResponse.decode(await api.unary(VERSION, EMPTY));
    assertEquals(reply.messages.length, 1);
    assertEquals(reply.messages[0].metadata, undefined);
    assertEquals(reply.messages[0].platform?.name, "cp-1");
  });

  await t.step("node = a worker through the control plane", async () => {
    const reply = VersionResponse.decode(
      await api.unary(VERSION, EMPTY, { metadata: { node: w2.address } }),
    );
    assertEquals(reply.messages.length, 1);
    assertEquals(reply.messages[0].metadata, undefined);
    assertEquals(reply.messages[0].platform?.name, "worker-2");
  });

  await t.step(
    "node = the endpoint's own hostname is served locally",
    async () => {
      const reply = VersionResponse.decode(
        await api.unary(VERSION, EMPTY, { metadata: { node: "cp-1" } }),
      );
      assertEquals(reply.messages[0].platform?.name, "cp-1");
    },
  );

  await t.step("a worker as endpoint refuses to forward", async () => {
    const worker = dial(w1);
    const asks: Record<string, string | string[]>[] = [
      { node: cp.address },
      { nodes: [w1.address, w2.address] },
    ];
    for (const metadata of asks) {
      const err = await assertRejects(() =>
        worker.unary(VERSION, EMPTY, { metadata, timeoutMs: 5000 })
      );
      assert(err instanceof ApiError, String(err));
      assertEquals(err.status, "PermissionDenied");
      assertIncludes(err.message, "no request forwarding");
    }
    const own = VersionResponse.decode(
      await worker.unary(VERSION, EMPTY, { metadata: { node: w1.address } }),
    );
    assertEquals(own.messages[0].platform?.name, "worker-1");
  });

  await t.step(
    "logs -f across three nodes: merged, tagged, stop on cancel",
    async () => {
      const ac = new AbortController();
      const seen = new Map<string, string[]>();
      const stream = await api.stream(
        LOGS,
        LogsRequest.encode({ id: "apid", follow: true, tailLines: 1 })
          .finish(),
        { metadata: { nodes: all }, signal: ac.signal },
      );
      let n = 0;
      try {
        for await (const bytes of stream) {
          const d = Data.decode(bytes);
          const host = d.metadata?.hostname ?? "?";
          assert(!d.metadata?.error, d.metadata?.error);
          seen.set(host, [
            ...(seen.get(host) ?? []),
            Buffer.from(d.bytes).toString(),
          ]);
          if (++n >= 100) throw new Error("stream did not stop");
          if ([...seen.values()].filter((v) => v.length >= 3).length === 3) {
            ac.abort();
          }
        }
      } catch (err) {
        assert(
          err instanceof ApiError && err.status === "Canceled",
          String(err),
        );
      }
      assertEquals([...seen.keys()].sort(), [...all].sort());
      assertIncludes(seen.get(w1.address)![0], "worker-1 apid line 0");
      assertIncludes(seen.get(w2.address)![1], "worker-2 apid follow");
    },
  );

  await t.step(
    "cancelling the merged stream ends it on every node",
    async () => {
      await waitUntil(() => nodes.every((n) => n.openLogStreams === 0), {
        timeoutMs: 20000,
        what: "every node's log stream to end",
      });
    },
  );

  await t.step(
    "a leg that dies mid-stream ends with its error entry, the others go on",
    async () => {
      const ac = new AbortController();
      const after = new Map<string, number>();
      let errorFor: string | undefined;
      let n = 0;
      const stream = await api.stream(
        LOGS,
        LogsRequest.encode({ id: "apid", follow: true, tailLines: 0 })
          .finish(),
        { metadata: { nodes: all }, signal: ac.signal },
      );
      try {
        for await (const bytes of stream) {
          const d = Data.decode(bytes);
          const host = d.metadata?.hostname ?? "?";
          if (++n === 6) await w2.stopApid();
          if (d.metadata?.error) {
            assertEquals(errorFor, undefined, "one error entry");
            errorFor = host;
            continue;
          }
          if (errorFor) after.set(host, (after.get(host) ?? 0) + 1);
          if (
            (after.get(cp.address) ?? 0) >= 3 &&
            (after.get(w1.address) ?? 0) >= 3
          ) {
            ac.abort();
          }
          if (n > 2000) throw new Error("stream did not go on as expected");
        }
      } catch (err) {
        assert(ac.signal.aborted, String(err));
      }
      assertEquals(errorFor, w2.address);
      assertEquals(after.has(w2.address), false);
      await w2.startApid();
    },
  );

  await t.step("events across three nodes arrive tagged", async () => {
    const stream = await api.stream(
      EVENTS,
      EventsRequest.encode({ tailEvents: -1, follow: false }).finish(),
      { metadata: { nodes: all } },
    );
    const got: string[] = [];
    for await (const bytes of stream) {
      const e = Event.decode(bytes);
      got.push(`${e.metadata?.hostname} ${e.message}`);
    }
    assertEquals(got.length, 6);
    assert(got.includes(`${w2.address} event 1 on worker-2`), got.join("|"));
  });

  await t.step(
    "one node stopped: two entries and one error entry",
    async () => {
      await w2.stopApid();
      const started = Date.now();
      const reply = VersionResponse.decode(
        await api.unary(VERSION, EMPTY, { metadata: { nodes: all } }),
      );
      const took = Date.now() - started;
      assertEquals(reply.messages.map((m) => m.metadata?.hostname), all);
      assert(!reply.messages[0].metadata?.error);
      assert(!reply.messages[1].metadata?.error);
      assert(reply.messages[2].metadata?.error, "worker-2 has an error");
      assertEquals(reply.messages[2].metadata?.status?.code, 14);
      assert(took < LEG_MS + 2000, `took ${took} ms`);
      await w2.startApid();
    },
  );

  /** Version from every node while `frozen`'s apid is stopped (SIGSTOP). */
  const versionWhileFrozen = async (frozen: TestNode, timeoutMs: number) => {
    frozen.signalApid("SIGSTOP");
    try {
      const started = Date.now();
      const reply = VersionResponse.decode(
        await api.unary(VERSION, EMPTY, {
          metadata: { nodes: all },
          timeoutMs,
        }),
      );
      return { reply, took: Date.now() - started };
    } finally {
      frozen.signalApid("SIGCONT");
    }
  };

  await t.step(
    "one apid frozen by SIGSTOP: answer within the leg deadline",
    async () => {
      const { reply, took } = await versionWhileFrozen(w1, 20000);
      assertEquals(reply.messages.length, 3);
      assertEquals(
        reply.messages.filter((m) => m.metadata?.error).map((m) =>
          m.metadata?.hostname
        ),
        [w1.address],
      );
      assertEquals(reply.messages[1].metadata?.status?.code, 4);
      assert(took >= LEG_MS - 100, `took ${took} ms`);
      assert(took < LEG_MS + 2000, `took ${took} ms`);
    },
  );

  await t.step(
    "a client deadline shorter than the leg deadline wins",
    async () => {
      const { reply, took } = await versionWhileFrozen(w1, 800);
      assertEquals(reply.messages.length, 3);
      assert(reply.messages[1].metadata?.error);
      assert(took < 800, `took ${took} ms`);
    },
  );

  await t.step("no apid crashed", () => {
    for (const n of nodes) {
      assertEquals(apidCrash(n), undefined, `apid on ${n.address} crashed`);
    }
  });
});
