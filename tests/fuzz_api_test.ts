/**
 * Fuzz of the API through apid on a real 2-node process-mode cluster: every
 * method of the method table with random, well-formed, truncated, corrupted
 * and edge-case protobuf payloads as raw gRPC bytes, on the control plane
 * itself, forwarded to the worker (`node`) and fanned out to both (`nodes`,
 * each node's refusal an entry of the merged answer); random `nodes`/`node` header
 * values. Undecodable requests answer InvalidArgument, nothing answers
 * Unknown or hangs, apid and every daemon keep their pids, memory stays
 * bounded. Seeded: the seed is printed, BRONZE_FUZZ_SEED reproduces a run.
 */
import {
  type ServiceInfo,
  VersionResponse,
} from "../lib/api/gen/machine/machine.ts";
import { MachineServiceService } from "../lib/api/gen/machine/machine.ts";
import { ApiError } from "../lib/api_error/mod.ts";
import { readProcessMemory } from "../lib/procfs/mod.ts";
import {
  assert,
  assertEquals,
  FUZZ_SEED_ENV,
  fuzzSeed,
  Rng,
} from "../lib/testing/mod.ts";
import { dialApid } from "./apid_harness.ts";
import { startTestCluster } from "./cluster_harness.ts";
import {
  dialOwnConnection,
  formatFailures,
  fuzzMethods,
  targetHeaderValues,
} from "./fuzz_api.ts";
import { serviceUp } from "./machined_harness.ts";

const VERSION = "/machine.MachineService/Version";
const EMPTY = new Uint8Array(0);
/** Cases per method on the control plane, and forwarded to the worker. */
const LOCAL_CASES = 50;
const FORWARDED_CASES = 12;
const MERGED_CASES = 10;
const HEADER_CASES = 300;
/** RSS growth allowed per process over the whole run. */
const RSS_GROWTH_BYTES = 150 * 1024 * 1024;

Deno.test("fuzz: every method, random payloads and target headers through apid", async (t) => {
  const seed = fuzzSeed();
  console.log(
    `fuzz seed ${seed} (${FUZZ_SEED_ENV}=${seed} reproduces this run)`,
  );
  await using cluster = await startTestCluster({
    cidr: "127.20.1.0/24",
    nodes: 2,
    name: "fuzz",
  });
  const [cp, worker] = cluster.addresses;
  const pair = await cluster.ca.issueKeyPair({
    commonName: "fuzz-admin",
    organizations: ["os:admin"],
    usages: ["clientAuth"],
    ttlMs: 3600_000,
  });
  const api = dialApid(cp, { caPem: cluster.ca.crtPem, pair });
  const streamApi = dialOwnConnection(cp, { caPem: cluster.ca.crtPem, pair });
  using admin = await cluster.client({ nodes: cluster.addresses });
  const services = async (node: string): Promise<ServiceInfo[]> => {
    const reply = await admin.unary(MachineServiceService.serviceList, {
      metadata: undefined,
    }, { timeoutMs: 10_000 });
    const m = reply.messages.find((x) => x.metadata?.hostname === node);
    assert(
      m && !m.metadata?.error,
      `ServiceList of ${node}: ${JSON.stringify(m?.metadata)}`,
    );
    return m.services;
  };
  const pids = async (): Promise<Record<string, number>> => {
    const out: Record<string, number> = {};
    for (const [i, n] of cluster.record.nodes.entries()) {
      out[`${n.address} machined`] = n.pid;
      for (const s of await services(cluster.addresses[i])) {
        if (s.pid > 0) out[`${n.address} ${s.id}`] = s.pid;
      }
    }
    return out;
  };
  const before = await pids();
  const rssBefore: Record<string, number> = {};
  for (const [k, pid] of Object.entries(before)) {
    rssBefore[k] = (await readProcessMemory(pid)).rss;
  }

  try {
    await t.step(
      `every method on the control plane (${LOCAL_CASES} cases each)`,
      async () => {
        const report = await fuzzMethods(api, {
          seed,
          cases: LOCAL_CASES,
          streamApi,
        });
        console.log(
          `local: ${report.calls} calls in ${report.ms} ms, ${report.answered} answered, refused ${
            JSON.stringify(report.refused)
          }, ${report.transportCancels} stray HTTP/2 cancels retried, ${report.skipped} decodable mutating cases not sent`,
        );
        assertEquals(formatFailures(seed, report.failures), "");
        assert(
          (report.refused.InvalidArgument ?? 0) > 0,
          "no undecodable case was sent",
        );
        assert(report.answered > 0, "no decodable case was answered");
      },
    );

    await t.step(
      `every method forwarded to the worker (${FORWARDED_CASES} cases each)`,
      async () => {
        const report = await fuzzMethods(api, {
          streamApi,
          seed: seed ^ 0x5eed,
          cases: FORWARDED_CASES,
          metadata: { node: worker },
        });
        console.log(
          `forwarded: ${report.calls} calls in ${report.ms} ms, ${report.answered} answered, refused ${
            JSON.stringify(report.refused)
          }, ${report.transportCancels} stray HTTP/2 cancels retried`,
        );
        assertEquals(formatFailures(seed ^ 0x5eed, report.failures), "");
      },
    );

    await t.step(
      `every method fanned out to both nodes (${MERGED_CASES} cases each)`,
      async () => {
        const report = await fuzzMethods(api, {
          streamApi,
          seed: seed ^ 0xfa17,
          cases: MERGED_CASES,
          metadata: { nodes: `${cp},${worker}` },
        });
        console.log(
          `merged: ${report.calls} calls in ${report.ms} ms, ${report.answered} answered, refused ${
            JSON.stringify(report.refused)
          }, ${report.transportCancels} stray HTTP/2 cancels retried`,
        );
        assertEquals(formatFailures(seed ^ 0xfa17, report.failures), "");
      },
    );

    await t.step(
      `random nodes and node headers (${HEADER_CASES} each)`,
      async () => {
        const rng = new Rng(seed ^ 0xbeef);
        // Owned loopback addresses only: the nodes and one with no node.
        const allowed = [cp, worker, "127.20.1.200"];
        const failures: string[] = [];
        for (const header of ["nodes", "node"]) {
          for (const value of targetHeaderValues(rng, HEADER_CASES, allowed)) {
            const started = Date.now();
            try {
              const bytes = await api.unary(VERSION, EMPTY, {
                metadata: { [header]: value },
                timeoutMs: 15_000,
              });
              const reply = VersionResponse.decode(bytes);
              for (const m of reply.messages) {
                const err = m.metadata?.error ?? "";
                // A node that does not exist answers with its own error entry.
                if (err && m.metadata?.hostname !== "127.20.1.200") {
                  failures.push(
                    `${header}=${
                      JSON.stringify(value)
                    }: entry ${m.metadata?.hostname}: ${err}`,
                  );
                }
              }
            } catch (err) {
              const ok = err instanceof ApiError &&
                (err.status === "InvalidArgument" ||
                  (header === "node" && err.status === "Unavailable" &&
                    err.message.includes("127.20.1.200")));
              if (!ok) {
                failures.push(
                  `${header}=${JSON.stringify(value.slice(0, 300))} after ${
                    Date.now() - started
                  } ms: ${err instanceof ApiError ? err.status : ""} ${
                    String((err as Error).message).slice(0, 300)
                  }`,
                );
              }
            }
          }
        }
        assertEquals(failures.join("\n"), "", `seed ${seed}`);
      },
    );
  } finally {
    api.close();
    streamApi.close();
  }

  await t.step(
    "apid and every daemon kept their pids; memory bounded",
    async () => {
      const after = await pids();
      assertEquals(after, before);
      for (const node of cluster.addresses) {
        const list = await services(node);
        assert(
          list.every(serviceUp),
          `${node}: ${JSON.stringify(list.map((s) => [s.id, s.state]))}`,
        );
      }
      const lines: string[] = [];
      for (const [k, pid] of Object.entries(after)) {
        const rss = (await readProcessMemory(pid)).rss;
        lines.push(
          `${k} ${(rssBefore[k] / 1048576).toFixed(1)} -> ${
            (rss / 1048576).toFixed(1)
          } MiB`,
        );
        assert(
          rss - rssBefore[k] < RSS_GROWTH_BYTES,
          `${k} RSS grew ${rssBefore[k]} -> ${rss}`,
        );
      }
      console.log(`RSS: ${lines.join(", ")}`);
    },
  );
});
