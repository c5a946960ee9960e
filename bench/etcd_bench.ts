/**
 * etcd figures: put and get latency (p50/p99, one call at a time, kept-alive
 * mTLS connections through lib/etcd's client) through a cluster that
 * `osctl cluster create --controlplanes 3` formed, beside a single raw etcd
 * (same binary, same TLS, same client) started by the bench in the same
 * run; and the time from cluster create's start to 3 healthy voters.
 * Addresses: 127.18.3.2 (raw), 127.18.4.0/24 (cluster).
 *
 *     deno run -A bench/etcd_bench.ts [--calls 500]
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createCluster } from "../cli/cluster/create.ts";
import { stopClusterProcesses } from "../cli/cluster/destroy.ts";
import { clusterDir } from "../cli/cluster/state.ts";
import { loadSecretsBundle } from "../lib/config/mod.ts";
import { etcdArgs, EtcdClient } from "../lib/etcd/mod.ts";
import { findExecutable } from "../lib/exec/mod.ts";
import { base64ToPem } from "../lib/pem/mod.ts";
import { CertificateAuthority } from "../lib/pki/mod.ts";
import { tempDir, waitUntil } from "../lib/testing/mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { calls: { type: "string", default: "500" } },
});
const CALLS = Number(values.calls);
if (!Number.isInteger(CALLS) || CALLS < 10) {
  throw new Error(`--calls ${values.calls}: want a whole number >= 10`);
}

interface Figures {
  p50: number;
  p99: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

async function measure(
  call: (i: number) => Promise<unknown>,
): Promise<Figures> {
  for (let i = 0; i < 50; i++) await call(i); // warm up
  const lat: number[] = [];
  for (let i = 0; i < CALLS; i++) {
    const t0 = performance.now();
    await call(i);
    lat.push(performance.now() - t0);
  }
  lat.sort((a, b) => a - b);
  return { p50: percentile(lat, 0.5), p99: percentile(lat, 0.99) };
}

async function putGet(
  client: EtcdClient,
): Promise<{ put: Figures; get: Figures }> {
  const put = await measure((i) => client.put(`/bench/k${i % 100}`, `v${i}`));
  const get = await measure((i) => client.get(`/bench/k${i % 100}`));
  return { put, get };
}

function line(what: string, f: Figures): string {
  return `${what.padEnd(34)} p50 ${f.p50.toFixed(2)} ms   p99 ${
    f.p99.toFixed(2)
  } ms`;
}

async function issue(ca: CertificateAuthority, address: string) {
  return await ca.issueKeyPair({
    commonName: "bench",
    ipAddresses: [address, "127.0.0.1"],
    dnsNames: ["localhost"],
    usages: ["serverAuth", "clientAuth"],
    ttlMs: 3600_000,
  });
}

/** A raw single-member etcd with mTLS on both ports. */
async function rawEtcd(dir: string): Promise<{
  client: EtcdClient;
  stop: () => Promise<void>;
}> {
  const etcd = findExecutable("etcd");
  if (!etcd) throw new Error("etcd not found: install Debian's etcd-server");
  const address = "127.18.3.2";
  const ca = await CertificateAuthority.create({ commonName: "etcd" });
  const files = {
    ca: join(dir, "ca.crt"),
    serverCrt: join(dir, "server.crt"),
    serverKey: join(dir, "server.key"),
    peerCrt: join(dir, "peer.crt"),
    peerKey: join(dir, "peer.key"),
  };
  const server = await issue(ca, address);
  await Deno.writeTextFile(files.ca, ca.crtPem);
  await Deno.writeTextFile(files.serverCrt, server.crt);
  await Deno.writeTextFile(files.serverKey, server.key, { mode: 0o600 });
  await Deno.writeTextFile(files.peerCrt, server.crt);
  await Deno.writeTextFile(files.peerKey, server.key, { mode: 0o600 });
  const child = new Deno.Command(etcd, {
    args: etcdArgs({
      name: "raw",
      dataDir: join(dir, "data"),
      address,
      certs: files,
      initialClusterState: "new",
    }),
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const client = await ca.issueKeyPair({
    commonName: "bench-client",
    usages: ["clientAuth"],
    ttlMs: 3600_000,
  });
  const c = new EtcdClient({
    endpoints: [`https://${address}:2379`],
    tls: { ca: ca.crtPem, cert: client.crt, key: client.key },
    keepAlive: true,
  });
  await waitUntil(() => c.health().then(() => true).catch(() => false), {
    timeoutMs: 30_000,
    what: "the raw etcd healthy",
  });
  return {
    client: c,
    stop: async () => {
      c.close();
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

await using tmp = await tempDir("bronze-etcd-bench-");
const out: string[] = [];

const raw = await rawEtcd(tmp.path);
try {
  const f = await putGet(raw.client);
  out.push(line("raw etcd (1 member): put", f.put));
  out.push(line("raw etcd (1 member): get", f.get));
} finally {
  await raw.stop();
}

const root = join(tmp.path, "clusters");
const t0 = performance.now();
const record = await createCluster({
  name: "etcdbench",
  nodes: 3,
  controlPlanes: 3,
  cidr: "127.18.4.0/24",
  osconfig: join(tmp.path, "osconfig"),
  clustersRoot: root,
  waitMs: 300_000,
});
const createMs = performance.now() - t0;
const dir = clusterDir("etcdbench", root);
try {
  const secrets = await loadSecretsBundle(join(dir, "secrets.yaml"));
  const ca = await CertificateAuthority.fromPem(
    base64ToPem(secrets.certs.etcd!.crt),
    base64ToPem(secrets.certs.etcd!.key),
  );
  const pair = await ca.issueKeyPair({
    commonName: "bench-client",
    usages: ["clientAuth"],
    ttlMs: 3600_000,
  });
  const client = new EtcdClient({
    endpoints: [`https://${record.nodes[0].address}:2379`],
    tls: { ca: ca.crtPem, cert: pair.crt, key: pair.key },
    keepAlive: true,
  });
  try {
    const f = await putGet(client);
    out.push(line("cluster (3 voters): put", f.put));
    out.push(line("cluster (3 voters): get", f.get));
  } finally {
    client.close();
  }
} finally {
  await stopClusterProcesses(record, dir);
}
out.push(
  `cluster create --controlplanes 3 to 3 healthy voters: ${
    (createMs / 1000).toFixed(1)
  } s`,
);
console.log(out.join("\n"));
