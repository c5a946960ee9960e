/**
 * `osctl health` on a real process-mode cluster of 1 control plane and 1
 * worker (etcd bootstrapped by cluster create): every check passes on the
 * healthy cluster; with a worker's service stopped it exits 1 within
 * --wait-timeout naming the service and its node. Addresses: 127.24.1.0/24.
 */
import { assert, assertEquals, assertIncludes } from "../lib/testing/mod.ts";
import { startTestCluster } from "./cluster_harness.ts";

Deno.test("osctl health on 1 control plane and 1 worker", async (t) => {
  await using cluster = await startTestCluster({
    cidr: "127.24.1.0/24",
    nodes: 2,
    controlPlanes: 1,
    name: "health",
  });
  const [cp, worker] = cluster.addresses;
  const all = ["-n", cluster.addresses.join(",")];

  await t.step("passes on a healthy cluster", async () => {
    const r = await cluster.osctl([...all, "health", "--wait-timeout", "60s"]);
    assertEquals(r.code, 0, r.stderr);
    assertIncludes(r.stderr, `control plane: ${cp}; worker: ${worker}`);
    for (
      const check of [
        "all nodes' apid to answer",
        "etcd to be healthy",
        "etcd members to be control plane nodes",
        "all nodes' certificates to be valid for more than an hour",
        "all nodes' clocks to be within a second of the reference",
        "all services to be healthy",
      ]
    ) {
      assertIncludes(r.stderr, `waiting for ${check}: OK`);
    }
  });

  await t.step(
    "with only the worker named, finds the etcd members",
    async () => {
      const r = await cluster.osctl([
        "-n",
        worker,
        "health",
        "--wait-timeout",
        "30s",
      ]);
      assertEquals(r.code, 0, r.stderr);
      assertIncludes(r.stderr, `control plane: ${cp}; worker: ${worker}`);
    },
  );

  await t.step("names a stopped service and its node", async () => {
    const stop = await cluster.osctl([
      "-n",
      worker,
      "service",
      "udevd",
      "stop",
    ]);
    assertEquals(stop.code, 0, stop.stderr);
    const started = Date.now();
    const r = await cluster.osctl([
      "health",
      "--control-plane-nodes",
      cp,
      "--worker-nodes",
      worker,
      "--wait-timeout",
      "6s",
    ]);
    const took = Date.now() - started;
    assertEquals(r.code, 1, r.stderr);
    assertIncludes(
      r.stderr,
      `error: all services to be healthy: ${worker}: udevd is`,
    );
    assert(took < 6000 + 5000, `health took ${took}ms past --wait-timeout 6s`);
    const start = await cluster.osctl([
      "-n",
      worker,
      "service",
      "udevd",
      "start",
    ]);
    assertEquals(start.code, 0, start.stderr);
  });
});
