import { Buffer } from "node:buffer";
import { ApiError } from "../lib/api_error/mod.ts";
import { SecurityServiceService } from "../lib/api/gen/security/security.ts";
import { TlsChannel } from "../lib/grpc/mod.ts";
import {
  CertificateAuthority,
  createCsr,
  type CsrOptions,
  generateKeyPair,
  parseCertificate,
  verifyCertificate,
} from "../lib/pki/mod.ts";
import { pemToBase64 } from "../lib/pem/mod.ts";
import { readCertDir } from "../lib/certdir/mod.ts";
import { runNodeCertificates } from "../services/machined/certificates/node_certificates.ts";
import { createLogger } from "../lib/log/mod.ts";
import type { MachineConfig } from "../lib/config/mod.ts";
import {
  assert,
  assertEquals,
  assertIncludes,
  assertRejects,
  freePort,
  startNats,
  tempDir,
  waitUntil,
} from "../lib/testing/mod.ts";
import { startTrustd, writeTrustdCerts } from "./_trust_helpers_test.ts";

const TOKEN = "abc123.0123456789abcdef";
const BURST = 12;

Deno.test("trustd signs node server CSRs for token holders only", async (t) => {
  await using nats = await startNats();
  await using dir = await tempDir();
  const ca = await CertificateAuthority.create();
  const certsDir = `${dir.path}/certs/trustd`;
  await writeTrustdCerts(ca, certsDir);
  await using trustd = await startTrustd({
    bus: nats.creds("trustd"),
    ca,
    token: TOKEN,
    certsDir,
    port: freePort(),
    extraArgs: [
      "--max-ttl",
      "3600",
      "--rate-burst",
      String(BURST),
      "--rate-per-minute",
      "1",
    ],
  });
  const channel = new TlsChannel(trustd.address, { ca: ca.crtPem });
  let requests = 0;
  let issued = 0;
  // A token holder's requests count against the node its CSR names.
  const perNode = new Map<string, number>();
  const ask = async (
    csr: CsrOptions & { requestCa?: boolean },
    options: { token?: string; ttlSeconds?: number } = {},
  ) => {
    requests++;
    if (options.token === TOKEN) {
      perNode.set(csr.commonName, (perNode.get(csr.commonName) ?? 0) + 1);
    }
    const pem = await createCsr(await generateKeyPair(), csr);
    const reply = await channel.unary(SecurityServiceService.certificate, {
      csr: Buffer.from(pem),
      ttlSeconds: options.ttlSeconds ?? 0,
    }, {
      timeoutMs: 10000,
      metadata: options.token === undefined ? {} : { token: options.token },
    });
    issued++;
    const text = new TextDecoder();
    return { ca: text.decode(reply.ca), crt: text.decode(reply.crt) };
  };
  const node: CsrOptions = {
    commonName: "w1",
    dnsNames: ["bronze-node", "w1"],
    ipAddresses: ["127.0.0.1"],
  };
  try {
    await t.step(
      "a good token gets a server certificate, no role, capped TTL",
      async () => {
        const r = await ask({ ...node, organizations: ["os:admin"] }, {
          token: TOKEN,
          ttlSeconds: 600,
        });
        assertEquals(r.ca, ca.crtPem);
        assert(await verifyCertificate(r.crt, ca.crtPem));
        const info = await parseCertificate(r.crt);
        assertEquals(info.subject, { commonName: "w1", organizations: [] });
        assertEquals(info.isCa, false);
        assertEquals(info.keyUsages, ["digitalSignature"]);
        assertEquals(info.extKeyUsages, ["serverAuth"]);
        assertEquals(info.dnsNames, ["bronze-node", "w1"]);
        assertEquals(info.ipAddresses, ["127.0.0.1"]);
        const ttl = info.notAfter.getTime() - Date.now();
        assert(ttl > 590e3 && ttl <= 600e3, `ttl ${ttl}`);
        const capped = await parseCertificate(
          (await ask(node, { token: TOKEN, ttlSeconds: 10 * 365 * 86400 })).crt,
        );
        const cappedTtl = capped.notAfter.getTime() - Date.now();
        assert(
          cappedTtl <= 3600e3 && cappedTtl > 3590e3,
          `capped ttl ${cappedTtl}`,
        );
      },
    );

    await t.step("missing and wrong tokens are Unauthenticated", async () => {
      const missing = await assertRejects(() => ask(node)) as ApiError;
      assertEquals([missing.status, missing.message], [
        "Unauthenticated",
        "missing token",
      ]);
      const wrong = await assertRejects(() =>
        ask(node, { token: "abc123.0123456789abcdeX" })
      ) as ApiError;
      assertEquals([wrong.status, wrong.message], [
        "Unauthenticated",
        "invalid token",
      ]);
    });

    await t.step("a CSR for a CA is refused", async () => {
      const err = await assertRejects(() =>
        ask({ ...node, requestCa: true }, { token: TOKEN })
      ) as ApiError;
      assertEquals(err.status, "InvalidArgument");
      assertIncludes(err.message, "CA");
    });

    await t.step("a worker's node certificates come from trustd", async () => {
      const config: MachineConfig = {
        version: "v1alpha1",
        machine: {
          type: "worker",
          token: TOKEN,
          ca: { crt: pemToBase64(ca.crtPem) },
        },
        cluster: {
          name: "demo",
          controlPlane: { endpoint: "https://127.0.0.1:6443" },
        },
      };
      const ac = new AbortController();
      const certs = runNodeCertificates({
        config,
        address: "127.0.0.9",
        hostname: "w9",
        stateDir: dir.path,
        signal: ac.signal,
        log: createLogger("nodecerts", { level: "error" }),
        ttlMs: 120e3,
        trustdEndpoints: [trustd.address],
      });
      try {
        await certs.ready();
        requests++;
        issued++;
      } finally {
        ac.abort();
        await certs.done();
      }
      const m = await readCertDir(`${dir.path}/certs/apid`);
      assertEquals(m.client, undefined);
      const info = await parseCertificate(m.server.cert);
      assertEquals(info.ipAddresses, ["127.0.0.9"]);
      assertEquals(info.dnsNames, ["bronze-node", "w9"]);
      assertEquals(
        (await Deno.stat(`${dir.path}/certs/apid/server.key`)).mode! & 0o777,
        0o600,
      );
    });

    await t.step(
      "requests over the per-node limit are ResourceExhausted",
      async () => {
        let limited: ApiError | undefined;
        for (let i = 0; i < BURST + 2 && !limited; i++) {
          try {
            await ask(node, { token: TOKEN });
          } catch (err) {
            limited = err as ApiError;
          }
        }
        assert(limited, "no request was rate limited");
        assertEquals(limited.status, "ResourceExhausted");
        // The bucket holds BURST, plus at most one refilled during the test.
        const w1 = perNode.get("w1") ?? 0;
        assert(w1 <= BURST + 2, `limited only after ${w1} requests of w1`);
        assert(requests > w1, "other requests were counted apart");
      },
    );

    await t.step("one audit line per issuance, never a secret", () => {
      const lines = trustd.stderr().split("\n").filter((l) => l.trim());
      const audits = lines.map((l) => JSON.parse(l)).filter((l) =>
        l.msg === "certificate issued"
      );
      assertEquals(audits.length, issued);
      assertEquals(audits[0].subject, "w1");
      assertEquals(audits[0].peer, "127.0.0.1");
      assertEquals(audits[0].dnsNames, ["bronze-node", "w1"]);
      assertEquals(audits[0].strippedOrganizations, ["os:admin"]);
      const all = trustd.stderr();
      assert(
        !all.includes(TOKEN) && !all.includes("PRIVATE KEY"),
        "secret in log",
      );
    });
  } finally {
    channel.close();
  }
});

Deno.test("trustd renews nodes' certificates while a bad-token flood runs from the same address", async () => {
  await using nats = await startNats();
  await using dir = await tempDir();
  const ca = await CertificateAuthority.create();
  const certsDir = `${dir.path}/certs/trustd`;
  await writeTrustdCerts(ca, certsDir);
  const burst = 4;
  await using trustd = await startTrustd({
    bus: nats.creds("trustd"),
    ca,
    token: TOKEN,
    certsDir,
    port: freePort(),
    extraArgs: ["--rate-burst", String(burst), "--rate-per-minute", "1"],
  });
  const channel = new TlsChannel(trustd.address, { ca: ca.crtPem });
  const ask = async (name: string, token: string): Promise<string> => {
    const pem = await createCsr(await generateKeyPair(), {
      commonName: name,
      dnsNames: ["bronze-node", name],
      ipAddresses: ["127.0.0.1"],
    });
    const reply = await channel.unary(SecurityServiceService.certificate, {
      csr: Buffer.from(pem),
      ttlSeconds: 600,
    }, { timeoutMs: 10000, metadata: { token } });
    return new TextDecoder().decode(reply.crt);
  };
  // Every process-mode node and client is 127.0.0.1, as this flood is.
  const flood = new AbortController();
  const statuses = new Map<string, number>();
  const flooder = async () => {
    for (let i = 0; i < 400 && !flood.signal.aborted; i++) {
      try {
        await ask("intruder", "abc123.0123456789abcdeX");
        statuses.set("OK", (statuses.get("OK") ?? 0) + 1);
      } catch (err) {
        const s = err instanceof ApiError ? err.status : String(err);
        statuses.set(s, (statuses.get(s) ?? 0) + 1);
      }
    }
  };
  try {
    const flooders = Array.from({ length: 4 }, flooder);
    await waitUntil(() => statuses.has("ResourceExhausted"), {
      timeoutMs: 20_000,
      intervalMs: 20,
      what: "the flood to be limited (ResourceExhausted)",
    });
    // Three nodes renew, each within its own allowance, during the flood.
    const renewals = await Promise.all(
      ["w1", "w2", "w3"].map(async (name) => {
        const got: string[] = [];
        for (let i = 0; i < burst - 1; i++) got.push(await ask(name, TOKEN));
        return got;
      }),
    );
    const stillFlooding = !flood.signal.aborted;
    flood.abort();
    await Promise.all(flooders);
    assert(stillFlooding);
    for (const crts of renewals) {
      assertEquals(crts.length, burst - 1);
      for (const crt of crts) assert(await verifyCertificate(crt, ca.crtPem));
    }
    assertEquals(statuses.get("OK"), undefined);
    assert((statuses.get("Unauthenticated") ?? 0) <= burst + 1);
  } finally {
    flood.abort();
    channel.close();
  }
});
