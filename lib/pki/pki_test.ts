import {
  CertificateAuthority,
  createCsr,
  generateKeyPair,
  importPrivateKeyPem,
  parseCertificate,
  parseCsr,
  verifyCertificate,
} from "./mod.ts";
import { base64ToPem, pemDecode, pemToBase64 } from "../pem/mod.ts";
import {
  assert,
  assertEquals,
  assertIncludes,
  assertRejects,
} from "../testing/mod.ts";

Deno.test("CertificateAuthority issues X.509 v3 leaf certificates", async (t) => {
  for (const algorithm of ["ecdsa-p256", "ed25519"] as const) {
    await t.step(algorithm, async () => {
      const ca = await CertificateAuthority.create({ algorithm });
      const caInfo = await parseCertificate(ca.crtPem);
      assertEquals(caInfo.isCa, true);
      assertEquals(caInfo.keyAlgorithm, algorithm);
      assertEquals(caInfo.version, 3);
      const years = (caInfo.notAfter.getTime() - Date.now()) / (365 * 864e5);
      assert(years > 9.9 && years < 10.1, `CA lifetime ${years} years`);
      assertEquals(caInfo.keyUsages, [
        "digitalSignature",
        "keyCertSign",
        "cRLSign",
      ]);

      const server = await ca.issueKeyPair({
        commonName: "cp1",
        dnsNames: ["bronze-node", "cp1"],
        ipAddresses: ["10.5.0.2", "fd00::2"],
        usages: ["serverAuth"],
        ttlMs: 3600e3,
        algorithm,
      });
      const info = await parseCertificate(server.crt);
      assertEquals(info.version, 3);
      assertEquals(info.isCa, false);
      assertEquals(info.keyUsages, ["digitalSignature"]);
      assertEquals(info.extKeyUsages, ["serverAuth"]);
      assertEquals(info.dnsNames, ["bronze-node", "cp1"]);
      assertEquals(info.ipAddresses.length, 2);
      assertEquals(info.ipAddresses[0], "10.5.0.2");
      assertEquals(info.subject, { commonName: "cp1", organizations: [] });
      assert(await verifyCertificate(server.crt, ca.crtPem));
      assert(
        !(await verifyCertificate(server.crt, ca.crtPem, {
          at: new Date(Date.now() + 7200e3),
        })),
        "expired certificate verified",
      );
      const other = await CertificateAuthority.create({ algorithm });
      assert(!(await verifyCertificate(server.crt, other.crtPem)));

      const client = await ca.issueKeyPair({
        commonName: "admin",
        organizations: ["os:admin", "os:reader"],
        usages: ["clientAuth"],
        ttlMs: 3600e3,
      });
      const ci = await parseCertificate(client.crt);
      assertEquals(ci.subject.organizations, ["os:admin", "os:reader"]);
      assertEquals(ci.extKeyUsages, ["clientAuth"]);
    });
  }
});

Deno.test("CertificateAuthority.fromPem() round-trips and checks the key", async () => {
  const ca = await CertificateAuthority.create();
  const again = await CertificateAuthority.fromPem(ca.crtPem, ca.keyPem);
  const leaf = await again.issueKeyPair({
    commonName: "x",
    usages: ["clientAuth"],
    ttlMs: 60e3,
  });
  assert(await verifyCertificate(leaf.crt, ca.crtPem));
  const other = await CertificateAuthority.create();
  const err = await assertRejects(() =>
    CertificateAuthority.fromPem(ca.crtPem, other.keyPem)
  );
  assertIncludes(String(err), "does not match");
  const notCa = await assertRejects(() =>
    CertificateAuthority.fromPem(leaf.crt, leaf.key)
  );
  assertIncludes(String(notCa), "not a CA");
  // A leaf never outlives its CA.
  const short = await CertificateAuthority.create({ ttlMs: 60e3 });
  const capped = await parseCertificate(
    (await short.issueKeyPair({
      commonName: "x",
      usages: ["serverAuth"],
      ttlMs: 864e5,
    })).crt,
  );
  assert(capped.notAfter.getTime() <= Date.now() + 61e3);
});

Deno.test("CSRs carry the request and fail on a bad signature", async () => {
  const keys = await generateKeyPair();
  const pem = await createCsr(keys, {
    commonName: "w1",
    organizations: ["os:admin"],
    dnsNames: ["w1"],
    ipAddresses: ["10.5.0.3"],
  });
  const csr = await parseCsr(pem);
  assertEquals(csr.subject, { commonName: "w1", organizations: ["os:admin"] });
  assertEquals(csr.dnsNames, ["w1"]);
  assertEquals(csr.ipAddresses, ["10.5.0.3"]);
  assertEquals(csr.requestsCa, false);
  const der = pemDecode(pem)[0].der;
  der[der.length - 5] ^= 0x55; // damage the signature
  const bad = "-----BEGIN CERTIFICATE REQUEST-----\n" +
    btoa(String.fromCharCode(...der)) + "\n-----END CERTIFICATE REQUEST-----\n";
  assertIncludes(String(await assertRejects(() => parseCsr(bad))), "CSR");
  assertIncludes(
    String(await assertRejects(() => parseCsr("hello"))),
    "Cannot parse CSR",
  );
});

Deno.test("keys and PEM survive base64 (config) round trips", async () => {
  const ca = await CertificateAuthority.create({ algorithm: "ed25519" });
  assertEquals(base64ToPem(pemToBase64(ca.crtPem)), ca.crtPem);
  const keys = await importPrivateKeyPem(ca.keyPem);
  assertEquals(keys.publicKey.algorithm.name, "Ed25519");
  assertIncludes(
    String(await assertRejects(() => importPrivateKeyPem("nope"))),
    "not a PKCS#8 PEM private key",
  );
});
