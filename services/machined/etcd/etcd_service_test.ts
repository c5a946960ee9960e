import { ApiError } from "../../../lib/api_error/mod.ts";
import {
  generateMachineConfigs,
  generateSecretsBundle,
} from "../../../lib/config/mod.ts";
import { etcdArgs } from "../../../lib/etcd/mod.ts";
import { createLogger } from "../../../lib/log/mod.ts";
import {
  assert,
  assertEquals,
  assertIncludes,
  assertRejects,
  tempDir,
  waitUntil,
} from "../../../lib/testing/mod.ts";
import { EtcdService } from "./etcd_service.ts";
import { etcdCertFiles } from "./etcd_certs.ts";

const SILENT = { write: () => {} };

Deno.test("EtcdService.bootstrap() refuses until the member waits for it", async (t) => {
  await using dir = await tempDir();
  const secrets = await generateSecretsBundle();
  const configs = generateMachineConfigs("t", "127.18.1.2", { secrets });
  const ac = new AbortController();
  const notes: string[] = [];
  const made: EtcdService[] = [];
  const make = (
    config = configs.controlplane,
    etcdPath: string | null = "/usr/bin/etcd",
  ) => {
    const etcd = new EtcdService({
      etcdPath: etcdPath ?? undefined,
      config,
      address: "127.18.1.2",
      hostname: "cp-1",
      stateDir: dir.path,
      certTtlMs: 60_000,
      log: createLogger("test", { sink: SILENT }),
      notify: (m) => notes.push(m),
      signal: ac.signal,
    });
    made.push(etcd);
    return etcd;
  };
  try {
    await t.step("FailedPrecondition before the member waits", async () => {
      const etcd = make();
      assertEquals(etcd.phase, "idle");
      const err = await assertRejects(
        () => etcd.bootstrap(ac.signal),
        ApiError,
        "not available yet",
      );
      assertEquals(err.status, "FailedPrecondition");
      // The certificates it issued are etcd CA's, under the node's state.
      await waitUntil(
        async () =>
          await Deno.stat(etcdCertFiles(dir.path).peerCrt).then(() => true)
            .catch(() => false),
        { what: "etcd certificates" },
      );
    });
    await t.step("InvalidArgument without an etcd CA", async () => {
      const config = structuredClone(configs.controlplane);
      delete config.cluster.etcd;
      const etcd = make(config);
      assertEquals(etcd.phase, "unavailable");
      assertEquals(
        etcd.spec().condition?.(),
        "Skipped: etcd is not configured (no cluster.etcd.ca)",
      );
      const err = await assertRejects(
        () => etcd.bootstrap(ac.signal),
        ApiError,
        "bootstrap is not possible",
      );
      assertEquals(err.status, "InvalidArgument");
    });
    await t.step("skipped where etcd is not installed", () => {
      const etcd = make(configs.controlplane, null);
      assertIncludes(etcd.spec().condition?.() ?? "", "etcd-server");
    });
  } finally {
    ac.abort();
    await Promise.all(made.map((e) => e.done()));
  }
});

Deno.test("a waiting member nags, then Bootstrap starts a new cluster", async () => {
  await using dir = await tempDir();
  const secrets = await generateSecretsBundle();
  const configs = generateMachineConfigs("t", "127.18.7.2", { secrets });
  const ac = new AbortController();
  const notes: string[] = [];
  const etcd = new EtcdService({
    etcdPath: "/usr/bin/etcd",
    config: configs.controlplane,
    address: "127.18.7.3",
    hostname: "cp-2",
    stateDir: dir.path,
    certTtlMs: 60_000,
    log: createLogger("test", { sink: SILENT }),
    notify: (m) => notes.push(m),
    signal: ac.signal,
    // Nobody listens there: every join attempt is refused at once.
    joinEndpoints: ["https://127.18.7.2:2379"],
    nagIntervalMs: 100,
    joinIntervalMs: 50,
  });
  try {
    const spec = etcd.spec();
    const prepared = spec.prepare!(ac.signal);
    await waitUntil(() => notes.length >= 3, { what: "three nags" });
    assertEquals(etcd.phase, "waiting");
    for (const n of notes) {
      assertIncludes(n, "run `osctl bootstrap` against 127.18.7.3");
      assertIncludes(n, "cannot join through https://127.18.7.2:2379");
    }
    await etcd.bootstrap(ac.signal);
    await prepared;
    assertEquals(etcd.phase, "starting");
    const proc = await spec.process();
    assert(
      proc.args.includes("--initial-cluster-state=new"),
      proc.args.join(" "),
    );
    assert(
      proc.args.includes("--initial-cluster=cp-2=https://127.18.7.3:2380"),
      proc.args.join(" "),
    );
    assertEquals((await Deno.stat(etcd.dataDir)).mode! & 0o777, 0o700);
    await assertRejects(
      () => etcd.bootstrap(ac.signal),
      ApiError,
      "already requested",
    );
  } finally {
    ac.abort();
    await etcd.done();
  }
});

Deno.test("etcdArgs() puts mTLS on both ports and the URLs on the address", () => {
  const certs = etcdCertFiles("/s");
  const args = etcdArgs({
    name: "cp-1",
    dataDir: "/s/etcd",
    address: "10.5.0.2",
    certs,
    initialClusterState: "new",
  });
  for (
    const want of [
      "--listen-client-urls=https://10.5.0.2:2379",
      "--listen-peer-urls=https://10.5.0.2:2380",
      "--client-cert-auth=true",
      "--peer-client-cert-auth=true",
      `--trusted-ca-file=${certs.ca}`,
      `--peer-trusted-ca-file=${certs.ca}`,
      "--initial-cluster=cp-1=https://10.5.0.2:2380",
      "--initial-cluster-state=new",
    ]
  ) assert(args.includes(want), want);
  // With data, etcd reads its membership from it: no initial flags.
  const again = etcdArgs({
    name: "cp-1",
    dataDir: "/s/etcd",
    address: "10.5.0.2",
    certs,
  });
  assert(!again.some((a) => a.startsWith("--initial-cluster")));
});
