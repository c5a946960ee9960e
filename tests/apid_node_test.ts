/**
 * osctl's client-config minting end to end on a real control-plane node
 * (machined, nats-server, trustd, networkd, udevd-lite and apid processes):
 * `osctl config new` asks apid, apid checks os:admin, machined mints.
 * (The multi-node fan-out, forwarding and restart cases run in
 * tests/cluster_api_test.ts.)
 */
import { assertEquals, assertIncludes } from "../lib/testing/mod.ts";
import { parseCertificate } from "../lib/pki/mod.ts";
import { contextTls, loadClientConfig } from "../lib/clientconfig/mod.ts";
import { startTestCluster } from "./cluster_harness.ts";

function randomCidr(): string {
  const a = 100 + Math.floor(Math.random() * 150);
  const b = Math.floor(Math.random() * 256);
  return `127.${a}.${b}.0/24`;
}

Deno.test("osctl config new mints a working client config through apid", async (t) => {
  await using cluster = await startTestCluster({
    nodes: 1,
    cidr: randomCidr(),
  });
  const [cp] = cluster.addresses;
  const file = `${cluster.dir}/reader.osconfig`;

  await t.step(
    "an admin gets a reader config, 0600, with the TTL asked",
    async () => {
      const r = await cluster.osctl([
        "config",
        "new",
        file,
        "--roles",
        "os:reader",
        "--crt-ttl",
        "1h",
      ]);
      assertEquals(r.code, 0, r.stderr);
      assertEquals((await Deno.stat(file)).mode! & 0o777, 0o600);
      const cfg = await loadClientConfig(file);
      const info = await parseCertificate(
        contextTls(cfg.contexts[cfg.context]).cert,
      );
      assertEquals(info.subject.organizations, ["os:reader"]);
      const life = info.notAfter.getTime() - Date.now();
      assertEquals(life > 3500_000 && life <= 3600_000, true, `${life} ms`);
      assertEquals(cfg.contexts[cfg.context].endpoints, [cp]);
    },
  );

  await t.step("the new config reads but may not reboot or mint", async () => {
    const v = await cluster.osctl(["--osconfig", file, "version"]);
    assertEquals(v.code, 0, v.stderr);
    // A direct answer names the node by its own hostname (machined fills
    // Version's metadata); answers merged from named targets carry the target.
    assertIncludes(v.stdout, "NODE:        test-controlplane-1");
    const reboot = await cluster.osctl(["--osconfig", file, "reboot"]);
    assertEquals(reboot.code, 1);
    assertIncludes(reboot.stderr, "not authorized");
    const mint = await cluster.osctl([
      "--osconfig",
      file,
      "config",
      "new",
      `${file}.2`,
      "--roles",
      "os:admin",
    ]);
    assertEquals(mint.code, 1);
    assertIncludes(mint.stderr, "not authorized");
  });

  await t.step("an existing file is kept unless --force", async () => {
    const r = await cluster.osctl([
      "config",
      "new",
      file,
      "--roles",
      "os:operator",
    ]);
    assertEquals(r.code, 2);
    assertIncludes(r.stderr, "--force");
  });
});
