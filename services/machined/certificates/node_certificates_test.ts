import type { MachineConfig } from "../../../lib/config/mod.ts";
import {
  CertificateAuthority,
  parseCertificate,
  verifyCertificate,
} from "../../../lib/pki/mod.ts";
import { pemToBase64 } from "../../../lib/pem/mod.ts";
import { createLogger } from "../../../lib/log/mod.ts";
import {
  assert,
  assertEquals,
  assertThrows,
  tempDir,
  waitUntil,
} from "../../../lib/testing/mod.ts";
import { readCertDir, writeCertDir } from "../../../lib/certdir/mod.ts";
import { runNodeCertificates } from "./node_certificates.ts";

async function cpConfig(): Promise<
  { ca: CertificateAuthority; config: MachineConfig }
> {
  const ca = await CertificateAuthority.create();
  return {
    ca,
    config: {
      version: "v1alpha1",
      machine: {
        type: "controlplane",
        token: "abc123.0123456789abcdef",
        ca: { crt: pemToBase64(ca.crtPem), key: pemToBase64(ca.keyPem) },
        certSANs: ["cp.example.org", "10.9.9.9"],
      },
      cluster: {
        name: "demo",
        controlPlane: { endpoint: "https://127.0.0.1:6443" },
      },
    },
  };
}

const quiet = () => createLogger("nodecerts", { level: "error" });

Deno.test("control planes mint apid server+client and trustd certificates, renew at half-life and on change", async () => {
  await using dir = await tempDir();
  const { ca, config } = await cpConfig();
  const ac = new AbortController();
  const certs = runNodeCertificates({
    config,
    address: "127.5.0.2",
    hostname: "cp1",
    stateDir: dir.path,
    signal: ac.signal,
    log: quiet(),
    ttlMs: 4000,
  });
  try {
    await certs.ready();
    const apid = await readCertDir(`${dir.path}/certs/apid`);
    const trustd = await readCertDir(`${dir.path}/certs/trustd`);
    const server = await parseCertificate(apid.server.cert);
    assertEquals(server.dnsNames, ["bronze-node", "cp.example.org", "cp1"]);
    assertEquals(server.ipAddresses, ["10.9.9.9", "127.5.0.2"]);
    assertEquals(server.extKeyUsages, ["serverAuth"]);
    const client = await parseCertificate(apid.client!.cert);
    assertEquals(client.subject.organizations, ["os:impersonator"]);
    assertEquals(client.extKeyUsages, ["clientAuth"]);
    assert(await verifyCertificate(trustd.server.cert, ca.crtPem));
    for (
      const f of ["apid/server.key", "apid/client.key", "trustd/server.key"]
    ) {
      assertEquals(
        (await Deno.stat(`${dir.path}/certs/${f}`)).mode! & 0o777,
        0o600,
        f,
      );
    }
    assertEquals(
      (await Deno.stat(`${dir.path}/certs/apid`)).mode! & 0o777,
      0o700,
    );

    // Half-life renewal: a 4 s certificate is replaced after ~2 s.
    await waitUntil(() => certs.issued >= 2, {
      timeoutMs: 10000,
      what: "half-life renewal",
    });
    const renewed = await parseCertificate(
      (await readCertDir(`${dir.path}/certs/apid`)).server.cert,
    );
    assert(renewed.serialNumber !== server.serialNumber);

    // An address change reissues at once.
    const before = certs.issued;
    certs.update({ address: ["127.5.0.2", "127.5.0.99"] });
    await waitUntil(() => certs.issued > before, {
      timeoutMs: 5000,
      what: "reissue on change",
    });
    const changed = await parseCertificate(
      (await readCertDir(`${dir.path}/certs/apid`)).server.cert,
    );
    assertEquals(changed.ipAddresses, ["10.9.9.9", "127.5.0.2", "127.5.0.99"]);
  } finally {
    ac.abort();
    await certs.done();
  }
});

Deno.test("readCertDir() refuses a key that does not match its certificate", async () => {
  await using dir = await tempDir();
  const ca = await CertificateAuthority.create();
  const a = await ca.issueKeyPair({
    commonName: "a",
    dnsNames: ["a"],
    usages: ["serverAuth"],
    ttlMs: 60e3,
  });
  const b = await ca.issueKeyPair({
    commonName: "b",
    dnsNames: ["b"],
    usages: ["serverAuth"],
    ttlMs: 60e3,
  });
  await writeCertDir(dir.path, {
    ca: ca.crtPem,
    serverCrt: a.crt,
    serverKey: b.key,
  });
  let err: unknown;
  try {
    await readCertDir(dir.path);
  } catch (e) {
    err = e;
  }
  assert(String(err).includes("does not match"), String(err));
  assertThrows(
    () =>
      runNodeCertificates({
        config: {} as MachineConfig,
        address: "1.2.3.4",
        hostname: "x",
        stateDir: dir.path,
        signal: AbortSignal.abort(),
        log: quiet(),
        ttlMs: 10,
      }),
    Error,
    "ttl 10 ms is below 2000 ms",
  );
});
