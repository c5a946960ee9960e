/**
 * machined end to end: a real node (machined, nats-server and the four
 * daemons as real processes) booted from a temp state dir, driven over the
 * bus as the "apid" user.
 */
import { Data, Empty } from "../lib/api/gen/common/common.ts";
import {
  DmesgRequest,
  Event,
  EventsRequest,
  HostnameResponse,
  LoadAvgResponse,
  LogsRequest,
  MachineConfigResponse,
  MemoryResponse,
  RebootRequest,
  RebootResponse,
  type ServiceInfo,
  ServiceRestartRequest,
  ServiceRestartResponse,
  ServiceStartRequest,
  ServiceStartResponse,
  ServiceStopRequest,
  ServiceStopResponse,
  ShutdownRequest,
  ShutdownResponse,
  VersionResponse,
} from "../lib/api/gen/machine/machine.ts";
import {
  type Bus,
  callTyped,
  type MessageCodec,
  streamTyped,
} from "../lib/bus/mod.ts";
import { ApiError } from "../lib/api_error/mod.ts";
import {
  HEADER_CALLER,
  HEADER_ROLES,
  rpcSubject,
  streamSubject,
} from "../lib/constants/mod.ts";
import {
  assert,
  assertEquals,
  assertIncludes,
  assertRejects,
  waitUntil,
} from "../lib/testing/mod.ts";
import {
  CertificateAuthority,
  parseCertificate,
  verifyCertificate,
} from "../lib/pki/mod.ts";
import {
  MACHINED_PERMISSIONS,
  nodeProcesses,
  pidGone,
  serviceUp,
  startTestNode,
  type TestNode,
} from "./machined_harness.ts";
import { runDaemonToExit } from "./daemon_process.ts";

const DAEMONS = ["udevd", "networkd", "trustd", "apid"];
const SUPERVISED = ["nats", ...DAEMONS];
const ADMIN = { [HEADER_CALLER]: "test-admin", [HEADER_ROLES]: "os:admin" };

/** A machined method: its name on the bus and its message codecs. */
interface Method<Req, Res> {
  name: string;
  codecs: { req: MessageCodec<Req>; res: MessageCodec<Res> };
}

function method<Req, Res>(
  name: string,
  req: MessageCodec<Req>,
  res: MessageCodec<Res>,
): Method<Req, Res> {
  return { name, codecs: { req, res } };
}

/** machined's unary methods this test calls. */
const UNARY = {
  Version: method("Version", Empty, VersionResponse),
  Hostname: method("Hostname", Empty, HostnameResponse),
  Memory: method("Memory", Empty, MemoryResponse),
  LoadAvg: method("LoadAvg", Empty, LoadAvgResponse),
  ServiceStart: method(
    "ServiceStart",
    ServiceStartRequest,
    ServiceStartResponse,
  ),
  ServiceStop: method("ServiceStop", ServiceStopRequest, ServiceStopResponse),
  ServiceRestart: method(
    "ServiceRestart",
    ServiceRestartRequest,
    ServiceRestartResponse,
  ),
  Reboot: method("Reboot", RebootRequest, RebootResponse),
  Shutdown: method("Shutdown", ShutdownRequest, ShutdownResponse),
};

/** machined's server-streaming methods this test calls. */
const STREAMS = {
  Logs: method("Logs", LogsRequest, Data),
  Events: method("Events", EventsRequest, Event),
  Dmesg: method("Dmesg", DmesgRequest, Data),
};

function call<Req, Res>(
  bus: Bus,
  m: Method<Req, Res>,
  req: Req,
): Promise<Res> {
  return callTyped(bus, rpcSubject("machined", m.name), m.codecs, req, {
    timeoutMs: 10000,
    headers: ADMIN,
  });
}

async function collect<Req, Res>(
  bus: Bus,
  m: Method<Req, Res>,
  req: Req,
): Promise<Res[]> {
  const out: Res[] = [];
  for await (
    const msg of streamTyped(
      bus,
      streamSubject("machined", m.name),
      m.codecs,
      req,
    )
  ) out.push(msg);
  return out;
}

/**
 * Waits until every service is up and each of `ids` runs with another pid
 * than in `before`; the service list then.
 */
function replaced(
  node: TestNode,
  ids: readonly string[],
  before: Record<string, number>,
  options: { timeoutMs: number; what: string },
): Promise<ServiceInfo[]> {
  return waitUntil(async () => {
    const l = await node.services();
    return l.every(serviceUp) && ids.every((id) => pids(l)[id] !== before[id])
      ? l
      : undefined;
  }, options);
}

function pids(list: ServiceInfo[]): Record<string, number> {
  return Object.fromEntries(list.map((s) => [s.id, s.pid]));
}

function text(chunks: Data[]): string {
  return chunks.map((c) => new TextDecoder().decode(c.bytes)).join("");
}

Deno.test("machined runs a node: services, API, restarts, reboot, shutdown", async (t) => {
  await using node = await startTestNode({ address: "127.5.100.2" });
  const bus = await node.bus();
  const empty = { metadata: undefined };

  await t.step("every service reaches Running and healthy", async () => {
    const list = await node.services();
    assertEquals(list.map((s) => s.id), ["machined", ...SUPERVISED]);
    for (const s of list) {
      assert(serviceUp(s), `${s.id}: ${s.state} ${s.health?.lastMessage}`);
      assert(s.pid > 0, `${s.id} has a pid`);
      assert(s.events.length > 0, `${s.id} has events`);
    }
    assertEquals((await node.service("machined")).pid, node.pid);
    assertEquals((await node.service("apid")).dependsOn, [
      "nats",
      "networkd",
      "trustd",
    ]);
    assertEquals((await node.service("udevd")).dependsOn, ["nats"]);
    assertEquals(new Set(list.map((s) => s.pid)).size, list.length);
    const states = (await node.service("udevd")).events.map((e) => e.state);
    assertEquals(states.slice(0, 3), ["Starting", "Waiting", "Preparing"]);
    assert(states.includes("Running"));
  });

  await t.step(
    "state stays under the state dir, secrets owner-only",
    async () => {
      const conf = await Deno.stat(`${node.stateDir}/run/nats.conf`);
      assertEquals(conf.mode! & 0o777, 0o600);
      assertEquals(
        (await Deno.stat(`${node.stateDir}/run`)).mode! & 0o777,
        0o700,
      );
      const natsConf = await Deno.readTextFile(
        `${node.stateDir}/run/nats.conf`,
      );
      assertIncludes(natsConf, `listen: "${node.address}:4222"`);
      // The live apid runs with its least permissions, not machined's.
      const apid = (await nodeProcesses(node)).find((p) =>
        p.argv.some((a) => a.endsWith("/services/apid/main.ts"))
      );
      assert(apid, "apid process found");
      assert(apid.argv.includes(`--allow-read=${node.stateDir}/certs/apid`));
      assert(!apid.argv.some((a) => /^(-A|--allow-all|--allow-run)/.test(a)));
      // No daemon gets its password on the command line.
      for (const p of await nodeProcesses(node)) {
        const argv = p.argv.join(" ");
        for (const m of natsConf.matchAll(/password: "([0-9a-f]+)"/g)) {
          assert(!argv.includes(m[1]), `password in argv of ${p.pid}`);
        }
      }
    },
  );

  await t.step(
    "a second machined on the same state dir is refused",
    async () => {
      const out = await runDaemonToExit(
        new URL("../services/machined/main.ts", import.meta.url).pathname,
        {
          denoFlags: MACHINED_PERMISSIONS,
          args: [
            "--state",
            node.stateDir,
            "--address",
            "127.5.100.12",
            "--config",
            node.configPath,
          ],
        },
      );
      assertEquals(out.code, 1);
      assertIncludes(
        out.stderr,
        `machined (PID ${node.pid}) already runs on state dir`,
      );
      assert((await node.services()).every(serviceUp));
    },
  );

  await t.step("Version, Hostname, Memory and LoadAvg answer", async () => {
    const v = (await call(bus, UNARY.Version, empty))
      .messages;
    assertEquals(v.length, 1);
    assertEquals(v[0].version?.denoVersion, Deno.version.deno);
    assertEquals(v[0].version?.os, "linux");
    assertEquals(v[0].platform, { name: "process", mode: "process" });
    assert(v[0].version?.tag.startsWith("v"));
    assert(/^[0-9a-f]{40}$|^unknown$/.test(v[0].version!.sha));
    const h = await call(bus, UNARY.Hostname, empty);
    assertEquals(h.messages[0].hostname, "bronze-127-5-100-2");
    const m = await call(bus, UNARY.Memory, empty);
    assert(m.messages[0].meminfo!.memtotal > 0);
    assert(
      m.messages[0].meminfo!.memavailable <= m.messages[0].meminfo!.memtotal,
    );
    const l = await call(bus, UNARY.LoadAvg, empty);
    assert(l.messages[0].load1 >= 0);
  });

  await t.step("GetMachineConfig: secrets only for admins", async () => {
    const get = (roles: string) =>
      callTyped(
        bus,
        rpcSubject("machined", "GetMachineConfig"),
        { req: Empty, res: MachineConfigResponse },
        empty,
        { headers: { [HEADER_ROLES]: roles } },
      );
    const onDisk = await Deno.readTextFile(node.configPath);
    const token = /token: (\S+)/.exec(onDisk)![1];
    const admin = (await get("os:admin")).messages[0];
    assertEquals(admin.redacted, false);
    assertIncludes(new TextDecoder().decode(admin.data), token);
    const reader = (await get("os:reader")).messages[0];
    assertEquals(reader.redacted, true);
    const text = new TextDecoder().decode(reader.data);
    assert(!text.includes(token));
    assertIncludes(text, "******");
  });

  await t.step(
    "Logs: tail, unknown id, follow; mutating calls are audited",
    async () => {
      const logs = (id: string, tailLines: number) =>
        collect(bus, STREAMS.Logs, {
          id,
          tailLines,
          follow: false,
        });
      const tail = text(await logs("machined", 3)).trimEnd().split("\n");
      assertEquals(tail.length, 3);
      assert(/^\d{4}-\d\d-\d\dT[\d:.]+Z \{/.test(tail[0]), tail[0]);
      assertIncludes(text(await logs("apid", -1)), '"msg":"listening"');
      assertIncludes(text(await logs("nats", -1)), "Server is ready");
      const err = await assertRejects(() => logs("nope", 1));
      assert(err instanceof ApiError);
      assertEquals(err.status, "NotFound");
      assertEquals(err.message, 'log "nope" was not registered');

      const ac = new AbortController();
      let seen = "";
      const follower = (async () => {
        for await (
          const d of streamTyped(
            bus,
            streamSubject("machined", "Logs"),
            { req: LogsRequest, res: Data },
            { id: "machined", tailLines: 0, follow: true },
            { signal: ac.signal },
          )
        ) {
          seen += new TextDecoder().decode(d.bytes);
          if (seen.includes('"caller":"test-admin"')) break;
        }
      })();
      // Starting a running service is a no-op, but an audited one.
      await waitUntil(async () => {
        const r = await call(bus, UNARY.ServiceStart, { id: "udevd" });
        assertEquals(r.messages[0].resp, 'Service "udevd" started');
        return await Promise.race([
          follower.then(() => true),
          new Promise<false>((r) => setTimeout(() => r(false), 1000)),
        ]);
      }, { timeoutMs: 15000, what: "audit line in machined's log" });
      ac.abort();
      assertIncludes(seen, '"msg":"audit"');
      assertIncludes(seen, '"method":"ServiceStart"');
      assertIncludes(seen, '"roles":"os:admin"');
    },
  );

  await t.step(
    "Events: boot progress and service changes, tail and follow",
    async () => {
      const all = await collect(bus, STREAMS.Events, {
        tailEvents: -1,
        follow: false,
      });
      const boot = all.filter((e) => e.type === "sequence").map((e) =>
        e.message
      );
      assert(boot.includes("boot: Booting in process mode"), boot.join("\n"));
      assert(boot.includes("boot: All services are up"), boot.join("\n"));
      assert(
        all.some((e) =>
          e.type === "service" && e.service === "apid" && e.state === "Running"
        ),
      );
      const two = await collect(bus, STREAMS.Events, {
        tailEvents: 2,
        follow: false,
      });
      assertEquals(two.length, 2);
    },
  );

  await t.step(
    "start/stop/restart refuse machined and unknown ids",
    async () => {
      const e1 = await assertRejects(() =>
        call(bus, UNARY.ServiceRestart, { id: "machined" })
      );
      assertEquals((e1 as ApiError).status, "FailedPrecondition");
      assertEquals(
        (e1 as ApiError).message,
        `service "machined" doesn't support restart operation via API`,
      );
      const e2 = await assertRejects(() =>
        call(bus, UNARY.ServiceRestart, { id: "x" })
      );
      assertEquals((e2 as ApiError).status, "NotFound");
      assertEquals((e2 as ApiError).message, 'service "x" not defined');
      const e3 = await assertRejects(() =>
        call(bus, UNARY.ServiceStop, { id: "" })
      );
      assertEquals((e3 as ApiError).status, "InvalidArgument");
    },
  );

  let before = pids(await node.services());
  await t.step(
    "kill -9 of every daemon: restarted with backoff, history says why",
    async () => {
      for (const d of DAEMONS) Deno.kill(before[d], "SIGKILL");
      const list = await replaced(node, DAEMONS, before, {
        timeoutMs: 60000,
        what: "daemons back after kill -9",
      });
      for (const d of DAEMONS) {
        const msgs = list.find((s) => s.id === d)!.events.map((e) => e.msg);
        assert(
          msgs.includes(`Process ${before[d]} exited: signal SIGKILL`),
          `${d}: ${msgs.join(" | ")}`,
        );
        assert(
          msgs.some((m) =>
            /^Restarting in \d+\.\d\d s \(attempt \d+\)$/.test(m)
          ),
        );
      }
      assertEquals(pids(list).nats, before.nats);
    },
  );

  before = pids(await node.services());
  await t.step(
    "kill -9 of nats-server: restarted, daemons reconnect, API works",
    async () => {
      Deno.kill(before.nats, "SIGKILL");
      const list = await waitUntil(async () => {
        const l = await node.services();
        const nats = l.find((s) => s.id === "nats")!;
        return l.every(serviceUp) && nats.pid !== before.nats &&
            nats.events.some((e) =>
              e.msg === `Process ${before.nats} exited: signal SIGKILL`
            )
          ? l
          : undefined;
      }, { timeoutMs: 60000, what: "nats back and every daemon healthy" });
      // The daemons reconnected rather than restarted.
      for (const d of DAEMONS) assertEquals(pids(list)[d], before[d], d);
      // Health is asked over the bus: a healthy daemon has reconnected.
      await waitUntil(async () => {
        const l = await node.services();
        return DAEMONS.every((d) => {
          const s = l.find((x) => x.id === d)!;
          return s.health?.healthy && Date.parse(s.health.lastChange) > 0;
        });
      });
      const v = await call(bus, UNARY.Version, empty);
      assertEquals(v.messages.length, 1);
    },
  );

  before = pids(await node.services());
  await t.step(
    "ServiceRestart of each service: reply first, then a new pid and Running",
    async () => {
      // nats last: the restart follows its reply at once, and a call sent
      // while the bus restarts is lost, so none is sent after it.
      const order = [...SUPERVISED.filter((id) => id !== "nats"), "nats"];
      for (const id of order) {
        const r = await call(bus, UNARY.ServiceRestart, { id });
        assertEquals(r.messages[0].resp, `Service "${id}" restart requested`);
      }
      const list = await replaced(node, SUPERVISED, before, {
        timeoutMs: 60000,
        what: "every service restarted",
      });
      const apid = list.find((s) => s.id === "apid")!.events.map((e) =>
        e.state
      );
      assert(apid.includes("Stopping") && apid.includes("Finished"));
    },
  );

  await t.step("ServiceStop then ServiceStart", async () => {
    await call(bus, UNARY.ServiceStop, {
      id: "networkd",
    });
    await waitUntil(async () =>
      (await node.service("networkd")).state === "Finished"
    );
    assertEquals((await node.service("networkd")).pid, 0);
    await call(bus, UNARY.ServiceStart, {
      id: "networkd",
    });
    await waitUntil(async () => serviceUp(await node.service("networkd")));
  });

  await t.step("Dmesg reads the kernel log", async () => {
    const readable = await Deno.open("/dev/kmsg").then((f) => {
      f.close();
      return true;
    }, () => false);
    const req = { follow: false, tailLines: 5 };
    if (!readable) {
      const err = await assertRejects(() => collect(bus, STREAMS.Dmesg, req));
      assertIncludes(String(err), "/dev/kmsg");
      return;
    }
    const lines = text(
      await collect(bus, STREAMS.Dmesg, req),
    )
      .trimEnd().split("\n");
    assert(lines.length >= 1 && lines.length <= 5, lines.join("\n"));
    assert(/^\[\s*\d+\.\d{6}\] \w+: \w+: /.test(lines[0]), lines[0]);
  });

  before = pids(await node.services());
  await t.step("Reboot restarts every service in place, in order", async () => {
    const r = await call(bus, UNARY.Reboot, {});
    assert(r.messages[0].actorId.length > 0);
    const list = await replaced(node, SUPERVISED, before, {
      timeoutMs: 90000,
      what: "every service back after Reboot",
    });
    assertEquals(pids(list).machined, node.pid);
    const seq = (await collect(bus, STREAMS.Events, {
      tailEvents: -1,
      follow: false,
    })).filter((e) => e.type === "sequence").map((e) => e.message);
    assert(
      seq.some((m) => m.startsWith("reboot: Rebooting in place")),
      seq.join("\n"),
    );
  });

  await t.step(
    "Shutdown stops everything; machined exits 0, no process left",
    async () => {
      const r = await call(bus, UNARY.Shutdown, {
        force: false,
      });
      assert(r.messages[0].actorId.length > 0);
      const status = await node.status;
      assertEquals(status.code, 0);
      assertEquals(await nodeProcesses(node), []);
      assert(node.stderr.some((l) => l.includes("Every service is stopped")));
    },
  );
});

Deno.test("a worker gets its certificates from trustd; SIGKILL of machined leaves no process", async (t) => {
  const ca = await CertificateAuthority.create();
  await using cp = await startTestNode({ address: "127.5.100.3", ca });
  await using node = await startTestNode({
    address: "127.5.100.4",
    type: "worker",
    ca,
    endpoint: `https://${cp.address}:6443`,
  });
  await t.step("a worker skips trustd; apid does not wait for it", async () => {
    const trustd = await node.service("trustd");
    assertEquals(trustd.state, "Skipped");
    assertEquals((await node.service("apid")).dependsOn, ["nats", "networkd"]);
    const bus = await node.bus();
    const err = await assertRejects(() =>
      call(bus, UNARY.ServiceStart, { id: "trustd" })
    );
    assertEquals((err as ApiError).status, "FailedPrecondition");
  });
  await t.step(
    "the worker's apid certificate came from the control plane's trustd",
    async () => {
      const dir = `${node.stateDir}/certs/apid`;
      const crt = await parseCertificate(
        await Deno.readTextFile(`${dir}/server.crt`),
      );
      assert(
        crt.ipAddresses.includes(node.address),
        JSON.stringify(crt.ipAddresses),
      );
      assert(
        await verifyCertificate(
          await Deno.readTextFile(`${dir}/server.crt`),
          ca.crtPem,
        ),
      );
      await assertRejects(
        () => Deno.stat(`${dir}/client.crt`),
        Deno.errors.NotFound,
      );
      await assertRejects(
        () => Deno.stat(`${node.stateDir}/certs/trustd/server.key`),
        Deno.errors.NotFound,
      );
    },
  );
  await t.step("kill -9 machined: every child dies with it", async () => {
    const list = await node.services();
    const children = list.filter((s) => s.id !== "machined" && s.pid > 0);
    assertEquals(children.map((s) => s.id), [
      "nats",
      "udevd",
      "networkd",
      "apid",
    ]);
    assert((await nodeProcesses(node)).length >= 5);
    node.kill("SIGKILL");
    await node.status;
    await waitUntil(async () => {
      for (const s of children) if (!(await pidGone(s.pid))) return false;
      return (await nodeProcesses(node)).length === 0;
    }, { timeoutMs: 15000, what: "no process of the node left" });
    // The control plane next door is untouched.
    assert((await cp.services()).every(serviceUp));
  });
});
