/**
 * apid forwarding under abuse, against real processes (a control plane and
 * a worker, each a real nats-server and a real apid): one authenticated
 * caller must not be able to break forwarding for the others.
 */
import { ApiError } from "../lib/api_error/mod.ts";
import {
  LogsRequest,
  ServiceStartRequest,
  VersionResponse,
} from "../lib/api/gen/machine/machine.ts";
import type { RawChannel } from "../lib/grpc/mod.ts";
import type { PemKeyPair } from "../lib/pki/mod.ts";
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
  type TestPki,
} from "./apid_harness.ts";

const VERSION = "/machine.MachineService/Version";
const MEMORY = "/machine.MachineService/Memory";
const LOGS = "/machine.MachineService/Logs";
const SERVICE_START = "/machine.MachineService/ServiceStart";
const EMPTY = new Uint8Array(0);
const FOLLOW = LogsRequest.encode({ id: "apid", follow: true, tailLines: 1 })
  .finish();
type Md = Record<string, string | string[]>;

/** A client certificate with its own CN (the caller's identity). */
function caller(pki: TestPki, name: string, role: string): Promise<PemKeyPair> {
  return pki.ca.issueKeyPair({
    commonName: name,
    organizations: [role],
    usages: ["clientAuth"],
    ttlMs: 3600_000,
  });
}

/** An open follow stream: its reader and how to cancel it. */
interface Follow {
  next(): Promise<IteratorResult<Uint8Array>>;
  cancel(): Promise<void>;
}

/** Opens a follow stream (resolves once the server sent headers). */
async function openFollow(api: RawChannel, metadata: Md): Promise<Follow> {
  const ac = new AbortController();
  const stream = await api.stream(LOGS, FOLLOW, {
    metadata,
    signal: ac.signal,
  });
  const it = stream[Symbol.asyncIterator]();
  return {
    next: () => it.next(),
    async cancel() {
      ac.abort();
      await it.return?.().catch(() => {});
    },
  };
}

/** A Version call forwarded as `metadata` says; fails on any error entry. */
async function forwardedVersion(
  api: RawChannel,
  metadata: Md,
  timeoutMs = 5000,
): Promise<number> {
  const started = Date.now();
  const reply = VersionResponse.decode(
    await api.unary(VERSION, EMPTY, { metadata, timeoutMs }),
  );
  assert(
    reply.messages.length > 0 &&
      reply.messages.every((m) => !m.metadata?.error),
    JSON.stringify(reply.messages.map((m) => m.metadata)),
  );
  return Date.now() - started;
}

/** Starts a control plane and one worker in this file's loopback range. */
async function twoNodes(dir: string, pki: TestPki, prefix: string) {
  const cluster = await startNodes(pki, {
    dir,
    count: 2,
    legTimeoutMs: 3000,
    prefix,
  });
  return { cluster, cp: cluster.nodes[0], worker: cluster.nodes[1] };
}

/** `p`, or a failure once `ms` pass. */
async function within<T>(ms: number, p: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${ms} ms`)),
          ms,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** `node=` and `nodes=` naming one node. */
function bothRoutes(node: TestNode): Md[] {
  return [{ node: node.address }, { nodes: [node.address] }];
}

function noCrash(nodes: TestNode[]): void {
  for (const n of nodes) assertEquals(apidCrash(n), undefined, n.hostname);
}

Deno.test("apid: cancelled merged follow streams release what they hold", async (t) => {
  await using dir = await tempDir();
  const pki = await makePki();
  const { cluster, cp, worker } = await twoNodes(dir.path, pki, "127.11.1");
  await using _cluster = cluster;
  // Five callers with 60 streams each: 300 merged streams at once, on
  // several client connections (the control plane allows 128 on each).
  const apis: RawChannel[] = [];
  for (let i = 0; i < 5; i++) {
    const pair = await caller(pki, `abuser-${i}`, "os:admin");
    apis.push(cluster.dial(cp, { pair }), cluster.dial(cp, { pair }));
  }
  const victim = cluster.dial(cp, {
    pair: await caller(pki, "victim", "os:reader"),
  });

  for (let round = 0; round < 3; round++) {
    await t.step(
      `round ${round}: 300 merged streams, then cancelled`,
      async () => {
        // A bystander's stream to the same worker, open throughout.
        const bystander = await openFollow(victim, { node: worker.address });
        assert(!(await bystander.next()).done);
        const follows = await Promise.all(
          Array.from(
            { length: 300 },
            (_, i) =>
              openFollow(apis[(i % 5) * 2 + (i % 2)], {
                nodes: [worker.address],
              }),
          ),
        );
        // Some legs are up, some still opening: cancel at different stages.
        await waitUntil(() => worker.openLogStreams >= 100 * (round + 1) / 2, {
          timeoutMs: 15000,
          what: "the worker to serve the streams",
        });
        await Promise.all(follows.map((f) => f.cancel()));
        for (let i = 0; i < 5; i++) {
          assert(
            !(await bystander.next()).done,
            "the bystander's stream ended",
          );
        }
        await bystander.cancel();
        // Well within the bus's 15 s silence timeout: cancelled, not timed out.
        await waitUntil(() => worker.openLogStreams === 0, {
          timeoutMs: 5000,
          what:
            `the worker's log streams to end (${worker.openLogStreams} open)`,
        });
      },
    );
    await t.step(`round ${round}: later forwarded calls answer`, async () => {
      for (
        const metadata of bothRoutes(worker)
      ) {
        const took = await forwardedVersion(victim, metadata);
        assert(took < 3000, `took ${took} ms`);
      }
      const follow = await openFollow(victim, { nodes: [worker.address] });
      assert(!(await follow.next()).done);
      await follow.cancel();
    });
  }
  await t.step("no apid crashed", () => noCrash(cluster.nodes));
});

Deno.test("apid: a forwarded call ending UNAVAILABLE leaves others' calls alone", async (t) => {
  await using dir = await tempDir();
  const pki = await makePki();
  const { cluster, cp, worker } = await twoNodes(dir.path, pki, "127.11.2");
  await using _cluster = cluster;
  const alice = cluster.dial(cp, {
    pair: await caller(pki, "alice", "os:reader"),
  });
  const bob = cluster.dial(cp, { pair: await caller(pki, "bob", "os:reader") });

  for (
    const metadata of bothRoutes(worker)
  ) {
    await t.step(
      `a stream survives an UNAVAILABLE call (${Object.keys(metadata)[0]})`,
      async () => {
        const follow = await openFollow(alice, metadata);
        assert(!(await follow.next()).done);
        // The worker's bus has no Memory responder: that call alone fails,
        // forwarded alone or as a leg of a merged call.
        const err = await assertRejects(() =>
          bob.unary(MEMORY, EMPTY, {
            metadata: { node: worker.address },
            timeoutMs: 5000,
          })
        );
        assert(err instanceof ApiError, String(err));
        assertEquals(err.status, "Unavailable");
        await bob.unary(MEMORY, EMPTY, {
          metadata: { nodes: [worker.address] },
          timeoutMs: 5000,
        });
        for (let i = 0; i < 5; i++) {
          const r = await follow.next();
          assert(!r.done, "the stream ended");
        }
        await follow.cancel();
      },
    );
  }
  await t.step("no apid crashed", () => noCrash(cluster.nodes));
});

Deno.test("apid: one caller holding its streams does not starve another", async (t) => {
  await using dir = await tempDir();
  const pki = await makePki();
  const { cluster, cp, worker } = await twoNodes(dir.path, pki, "127.11.3");
  await using _cluster = cluster;
  const attackerPair = await caller(pki, "attacker", "os:reader");
  const attacker = [
    cluster.dial(cp, { pair: attackerPair }),
    cluster.dial(cp, { pair: attackerPair }),
  ];
  const victim = cluster.dial(cp, {
    pair: await caller(pki, "victim", "os:reader"),
  });
  const held: Follow[] = [];

  await t.step("the attacker asks for 130 streams to the worker", async () => {
    const tries = await Promise.allSettled(
      Array.from({ length: 130 }, async (_, i) => {
        const f = await within(
          10000,
          openFollow(attacker[i % 2], { node: worker.address }),
        );
        held.push(f);
        const first = await within(10000, f.next());
        assert(!first.done);
      }),
    );
    const refused = tries.flatMap((r) =>
      r.status === "rejected" ? [r.reason] : []
    );
    assert(refused.length > 0, "some streams are refused");
    for (const err of refused) {
      assert(err instanceof ApiError, String(err));
      assertEquals(err.status, "ResourceExhausted", err.message);
      assertIncludes(err.message, "too many forwarded stream calls");
    }
    assert(worker.openLogStreams >= 130 - refused.length);
  });

  await t.step("meanwhile the victim's calls answer in time", async () => {
    for (
      const metadata of bothRoutes(worker)
    ) {
      const took = await forwardedVersion(victim, metadata, 3000);
      assert(took < 2000, `took ${took} ms`);
    }
    const started = Date.now();
    const follow = await within(
      5000,
      openFollow(victim, { node: worker.address }),
    );
    assert(!(await within(5000, follow.next())).done);
    const took = Date.now() - started;
    assert(took < 2000, `the victim's stream took ${took} ms`);
    await follow.cancel();
  });

  await t.step("the attacker's streams end when cancelled", async () => {
    await Promise.all(held.map((f) => f.cancel()));
    await waitUntil(() => worker.openLogStreams === 0, {
      timeoutMs: 10000,
      what: "the worker's log streams to end",
    });
  });
  await t.step("no apid crashed", () => noCrash(cluster.nodes));
});

Deno.test("apid: limits and bad input are answered at the edge, briefly", async (t) => {
  await using dir = await tempDir();
  const pki = await makePki();
  const { cluster, cp, worker } = await twoNodes(dir.path, pki, "127.11.4");
  await using _cluster = cluster;
  const admin = cluster.dial(cp, {
    pair: await caller(pki, "admin", "os:admin"),
  });
  const victim = cluster.dial(cp, {
    pair: await caller(pki, "victim", "os:reader"),
  });
  const routes: Md[] = [{}, ...bothRoutes(worker)];
  const status = async (call: () => Promise<unknown>) => {
    const err = await assertRejects(call);
    assert(err instanceof ApiError, String(err));
    return err;
  };

  await t.step(
    "an oversized request is RESOURCE_EXHAUSTED; others go on",
    async () => {
      const follow = await openFollow(victim, { node: worker.address });
      assert(!(await follow.next()).done);
      // Over the bus's 8 MiB, under grpc-js's old 16 MiB default.
      const big = new Uint8Array(9 * 1024 * 1024);
      for (const metadata of routes) {
        const err = await status(() =>
          admin.unary(VERSION, big, { metadata, timeoutMs: 10000 })
        );
        assertEquals(err.status, "ResourceExhausted", err.message);
      }
      for (let i = 0; i < 3; i++) assert(!(await follow.next()).done);
      await follow.cancel();
    },
  );

  await t.step(
    "an undecodable request is INVALID_ARGUMENT, briefly",
    async () => {
      const garbage = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f, 0x0a]);
      for (const metadata of <Md[]> [{}, { node: worker.address }]) {
        const err = await status(() =>
          admin.unary(SERVICE_START, garbage, { metadata, timeoutMs: 5000 })
        );
        assertEquals(err.status, "InvalidArgument", err.message);
        assert(err.message.startsWith("invalid ServiceStart request: "));
        assert(err.message.length < 200, err.message);
      }
    },
  );

  await t.step("an error echoing a 100 KB id is cut, and arrives", async () => {
    const id = "x".repeat(100_000);
    const request = ServiceStartRequest.encode({ id }).finish();
    for (const metadata of <Md[]> [{}, { node: worker.address }]) {
      const err = await status(() =>
        admin.unary(SERVICE_START, request, { metadata, timeoutMs: 5000 })
      );
      assertEquals(err.status, "NotFound", err.message);
      assert(err.message.startsWith('service "xxxxxxxx'), err.message);
      assert(err.message.length <= 1024, `${err.message.length} characters`);
    }
  });

  await t.step(
    "targets that are not node addresses are InvalidArgument",
    async () => {
      for (const bad of [":::::::", "0x7f.1", "300.1.1.1", "::", "worker-9"]) {
        for (const metadata of <Md[]> [{ node: bad }, { nodes: [bad] }]) {
          const err = await status(() =>
            admin.unary(VERSION, EMPTY, { metadata, timeoutMs: 5000 })
          );
          assertEquals(err.status, "InvalidArgument", err.message);
          assert(!/allow-net|Requires/.test(err.message), err.message);
        }
      }
    },
  );

  await t.step(
    "a huge nodes header gets a status, the connection lives",
    async () => {
      // The same connection carries a stream meanwhile: it must not end.
      const follow = await openFollow(admin, { node: worker.address });
      assert(!(await follow.next()).done);
      // ~47 KB: under HPACK's 64 KiB per field, past which HTTP/2 itself
      // makes an undecodable header block a connection error.
      const nodes = Array.from(
        { length: 4000 },
        (_, i) => `10.${(i >> 8) & 255}.${i & 255}.1`,
      ).join(",");
      for (const metadata of <Md[]> [{ nodes }, { node: nodes }]) {
        const err = await status(() =>
          admin.unary(VERSION, EMPTY, { metadata, timeoutMs: 5000 })
        );
        assertEquals(err.status, "InvalidArgument", err.message.slice(0, 200));
        assert(err.message.length < 200, err.message.slice(0, 200));
      }
      for (let i = 0; i < 3; i++) assert(!(await follow.next()).done);
      await follow.cancel();
    },
  );
  await t.step("no apid crashed", () => noCrash(cluster.nodes));
});
