/**
 * Trust figures: OS CA creation and leaf issuance per key algorithm, CSR
 * signing through trustd's service over TLS (in one process), and machine
 * config parsing.
 *
 *     deno run -A bench/trust_bench.ts [--n 200]
 * @module
 */
import { parseArgs } from "node:util";
import { SecurityServiceService } from "../lib/api/gen/security/security.ts";
import {
  generateMachineConfigs,
  generateSecretsBundle,
  parseMachineConfig,
  stringifyMachineConfig,
} from "../lib/config/mod.ts";
import { GrpcServer, TlsChannel } from "../lib/grpc/mod.ts";
import { NODE_SERVER_NAME } from "../lib/certdir/mod.ts";
import { createLogger } from "../lib/log/mod.ts";
import {
  CertificateAuthority,
  createCsr,
  generateKeyPair,
  type KeyAlgorithm,
} from "../lib/pki/mod.ts";
import { PeerRateLimiter } from "../services/trustd/rate_limit.ts";
import { trustdService } from "../services/trustd/service.ts";
import { TokenVerifier } from "../services/trustd/token_auth.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { n: { type: "string", default: "200" } },
});
const N = Number(values.n);

async function timed(label: string, n: number, fn: () => Promise<unknown>) {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await fn();
  const ms = performance.now() - t0;
  console.log(
    `${label.padEnd(44)} ${(ms / n).toFixed(2).padStart(8)} ms/op ${
      (n / ms * 1000).toFixed(0).padStart(7)
    } op/s`,
  );
}

for (const algorithm of ["ecdsa-p256", "ed25519"] as KeyAlgorithm[]) {
  await timed(
    `CA create (${algorithm})`,
    20,
    () => CertificateAuthority.create({ algorithm }),
  );
  const ca = await CertificateAuthority.create({ algorithm });
  await timed(
    `leaf key + certificate (${algorithm})`,
    N,
    () =>
      ca.issueKeyPair({
        commonName: "n",
        dnsNames: [NODE_SERVER_NAME],
        ipAddresses: ["10.5.0.2"],
        usages: ["serverAuth"],
        ttlMs: 864e5,
        algorithm,
      }),
  );
}

const ca = await CertificateAuthority.create();
const token = "abc123.0123456789abcdef";
const tls = await ca.issueKeyPair({
  commonName: "cp1",
  dnsNames: [NODE_SERVER_NAME],
  ipAddresses: ["127.0.0.1"],
  usages: ["serverAuth"],
  ttlMs: 3600e3,
});
const server = await GrpcServer.start({
  host: "127.0.0.1",
  tls: { ca: ca.crtPem, cert: tls.crt, key: tls.key },
  requireClientCert: false,
  services: [trustdService({
    ca: () => Promise.resolve(ca),
    tokens: new TokenVerifier(token),
    limiter: new PeerRateLimiter({ burst: 1e9, perMinute: 1e9 }),
    policy: { defaultTtlMs: 864e5, maxTtlMs: 864e5, minTtlMs: 1000 },
    log: createLogger("trustd", { level: "error" }),
  })],
});
const csr = new TextEncoder().encode(
  await createCsr(await generateKeyPair(), {
    commonName: "w1",
    dnsNames: ["w1"],
    ipAddresses: ["10.5.0.3"],
  }),
);
const ch = new TlsChannel(server.address, { ca: ca.crtPem });
await timed(
  "trustd Certificate over TLS (sequential)",
  N,
  () =>
    ch.unary(SecurityServiceService.certificate, { csr, ttlSeconds: 0 }, {
      metadata: { token },
      timeoutMs: 10000,
    }),
);
ch.close();
await server.close(1000);

const { controlplane } = generateMachineConfigs(
  "demo",
  "https://10.5.0.2:6443",
  {
    secrets: await generateSecretsBundle(),
  },
);
const text = stringifyMachineConfig(controlplane);
await timed(
  `parse + validate machine config (${text.length} B)`,
  N * 5,
  () => Promise.resolve(parseMachineConfig(text)),
);
