/**
 * A QEMU cluster end to end, through osctl as an operator runs it: `cluster
 * create --provisioner qemu --nodes 2` boots a control plane and a worker
 * under TCG on a VM network of their own (QEMU socket networking over
 * multicast on the host's loopback), the worker gets its certificate from
 * the control plane's trustd, osctl reaches both through the control plane,
 * and `cluster destroy` powers the VMs off and removes everything. HOME is
 * a temp folder: the clusters folder and client config are the test's own.
 */
import { join } from "node:path";
import { cachedBuild, repoRootOf } from "../image/cached_build.ts";
import { readClusterRecord } from "../cli/cluster/state.ts";
import { isAlive } from "../cli/cluster/processes.ts";
import { runOsctl } from "./osctl_runner.ts";
import {
  assert,
  assertEquals,
  assertIncludes,
  tempDir,
  waitUntil,
} from "../lib/testing/mod.ts";

const ROOT = repoRootOf(import.meta.url, 1);
const NAME = "qtest";

Deno.test("osctl cluster create --provisioner qemu: two VMs that work as one cluster", async (t) => {
  await cachedBuild({ repoRoot: ROOT }); // built once, before the clock runs
  await using home = await tempDir("bronze-qemu-home-");
  const osctl = (...args: string[]) =>
    runOsctl(args, {
      env: { HOME: home.path },
      signal: AbortSignal.timeout(600_000),
    });
  const root = join(home.path, ".osctl", "clusters");
  let pids: number[] = [];
  try {
    await t.step("create boots both VMs and merges the context", async () => {
      const r = await osctl(
        "cluster",
        "create",
        "--provisioner",
        "qemu",
        "--nodes",
        "2",
        "--name",
        NAME,
        "--cidr",
        "10.5.77.0/24",
      );
      assertEquals(r.code, 0, r.stderr + r.stdout);
      const record = await readClusterRecord(NAME, root);
      assert(record !== undefined, "cluster record written");
      assertEquals(record.provisioner, "qemu");
      assertEquals(record.nodes.map((n) => [n.type, n.address]), [
        ["controlplane", "10.5.77.2"],
        ["worker", "10.5.77.3"],
      ]);
      pids = record.nodes.map((n) => n.pid);
      for (const pid of pids) assert(await isAlive(pid), `QEMU ${pid} runs`);
      const contexts = await osctl("config", "contexts");
      assertIncludes(contexts.stdout, NAME);
    });

    await t.step(
      "version from both nodes through the control plane",
      async () => {
        const r = await osctl(
          "-n",
          "10.5.77.2,10.5.77.3",
          "-o",
          "json",
          "version",
        );
        assertEquals(r.code, 0, r.stderr);
        const reply = JSON.parse(r.stdout) as {
          messages: Array<{
            metadata?: { hostname?: string; error?: string };
            platform?: { mode?: string };
          }>;
        };
        assertEquals(
          reply.messages.map((m) => [
            m.metadata?.hostname,
            m.metadata?.error ?? "",
          ]).sort(),
          [["10.5.77.2", ""], ["10.5.77.3", ""]],
        );
        for (const m of reply.messages) {
          assertEquals(m.platform?.mode, "image");
        }
      },
    );

    await t.step(
      "the worker's services, reached through the control plane",
      async () => {
        // The worker's apid has a certificate from the control plane's trustd.
        const r = await osctl("-n", "10.5.77.3", "service");
        assertEquals(r.code, 0, r.stderr);
        for (const s of ["machined", "nats", "apid", "networkd", "udevd"]) {
          assertIncludes(r.stdout, s);
        }
        const trustd = r.stdout.split("\n").find((l) => /\btrustd\b/.test(l));
        assert(trustd === undefined || /Skipped/.test(trustd), trustd);
      },
    );

    await t.step(
      "destroy powers the VMs off and removes the cluster",
      async () => {
        const r = await osctl("cluster", "destroy", "--name", NAME);
        assertEquals(r.code, 0, r.stderr);
        await waitUntil(async () => {
          for (const p of pids) if (await isAlive(p)) return false;
          return true;
        }, {
          timeoutMs: 60_000,
        });
        assertEquals(await readClusterRecord(NAME, root), undefined);
      },
    );
  } finally {
    for (const p of pids) {
      try {
        Deno.kill(p, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
});
