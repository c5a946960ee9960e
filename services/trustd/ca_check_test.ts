import { checkCa } from "./ca_check.ts";
import { CertificateAuthority } from "../../lib/pki/mod.ts";
import { assertIncludes, assertThrows } from "../../lib/testing/mod.ts";

Deno.test("checkCa() accepts the OS CA and names what is wrong otherwise", async (t) => {
  const ca = await CertificateAuthority.create();
  const other = await CertificateAuthority.create();
  const leaf = await ca.issueKeyPair({
    commonName: "n1",
    usages: ["serverAuth"],
    ttlMs: 3600_000,
  });
  const refused = (crt: string, key: string, part: string) =>
    assertIncludes(
      (assertThrows(() => checkCa(crt, key)) as Error).message,
      part,
    );
  await t.step("a CA with its own key", () => {
    checkCa(ca.crtPem, ca.keyPem);
  });
  await t.step("another CA's key", () => {
    refused(ca.crtPem, other.keyPem, "does not match");
  });
  await t.step("a leaf certificate", () => {
    refused(leaf.crt, leaf.key, "not a CA");
  });
  await t.step("not PEM at all", () => {
    refused("junk", ca.keyPem, "does not parse");
    refused(ca.crtPem, "junk", "private key does not parse");
  });
});
