import { dispatch } from "../cli/dispatch.ts";
import { genConfigCommand } from "../cli/commands/gen_config.ts";
import { validateCommand } from "../cli/commands/validate.ts";
import { CONFIG_COMMANDS } from "../cli/commands/config.ts";
import { loadMachineConfig, loadSecretsBundle } from "../lib/config/mod.ts";
import { contextTls, loadClientConfig } from "../lib/clientconfig/mod.ts";
import { parseCertificate, verifyCertificate } from "../lib/pki/mod.ts";
import {
  assert,
  assertEquals,
  assertIncludes,
  tempDir,
} from "../lib/testing/mod.ts";

const COMMANDS = [genConfigCommand, validateCommand, ...CONFIG_COMMANDS];
const FILES = ["secrets.yaml", "controlplane.yaml", "worker.yaml", "osconfig"];

async function osctl(
  ...argv: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await dispatch(COMMANDS, argv, {
    io: {
      stdout: (s) => void (stdout += s),
      stderr: (s) => void (stderr += s),
    },
    signal: new AbortController().signal,
  });
  return { code, stdout, stderr };
}

async function snapshot(dir: string): Promise<string[]> {
  return await Promise.all(FILES.map(async (f) => {
    const st = await Deno.stat(`${dir}/${f}`);
    return `${f}:${st.mtime?.getTime()}:${await Deno.readTextFile(
      `${dir}/${f}`,
    )}`;
  }));
}

Deno.test("osctl gen config round trip", async (t) => {
  await using dir = await tempDir();
  const out = `${dir.path}/cluster`;

  await t.step("writes four 0600 files whose configs validate", async () => {
    const r = await osctl(
      "gen",
      "config",
      "demo",
      "https://127.5.0.2:6443",
      "--output-dir",
      out,
    );
    assertEquals(r.code, 0, r.stderr);
    for (const f of FILES) {
      assertEquals((await Deno.stat(`${out}/${f}`)).mode! & 0o777, 0o600, f);
    }
    const secrets = await loadSecretsBundle(`${out}/secrets.yaml`);
    const cp = await loadMachineConfig(`${out}/controlplane.yaml`);
    const worker = await loadMachineConfig(`${out}/worker.yaml`);
    assertEquals(cp.machine.type, "controlplane");
    assertEquals(worker.machine.type, "worker");
    assertEquals(cp.machine.ca.key, secrets.certs.os.key);
    assertEquals(worker.machine.ca.key, undefined);
    assertEquals(worker.machine.token, secrets.trustdinfo.token);
    assertEquals(cp.cluster, {
      name: "demo",
      controlPlane: { endpoint: "https://127.5.0.2:6443" },
      etcd: { ca: secrets.certs.etcd! },
    });
    assertEquals(worker.cluster.etcd, undefined);
    // etcd's CA is its own, apart from the OS CA.
    assert(secrets.certs.etcd && secrets.certs.etcd.crt !== cp.machine.ca.crt);
    const etcdCa = await parseCertificate(
      atob(secrets.certs.etcd.crt),
    );
    assertEquals(etcdCa.subject.commonName, "etcd");
    assert(etcdCa.isCa);
    for (const f of ["controlplane.yaml", "worker.yaml"]) {
      const v = await osctl("validate", "--config", `${out}/${f}`);
      assertEquals(v.code, 0, v.stderr);
    }
  });

  await t.step(
    "the client config carries an os:admin certificate for one year",
    async () => {
      const cfg = await loadClientConfig(`${out}/osconfig`);
      assertEquals(cfg.context, "demo");
      assertEquals(cfg.contexts.demo.endpoints, ["127.5.0.2"]);
      const tls = contextTls(cfg.contexts.demo);
      const cert = await parseCertificate(tls.cert);
      assertEquals(cert.subject.organizations, ["os:admin"]);
      assertEquals(cert.extKeyUsages, ["clientAuth"]);
      const days = (cert.notAfter.getTime() - Date.now()) / 864e5;
      assert(days > 364 && days < 366, `client cert lifetime ${days} days`);
      assert(await verifyCertificate(tls.cert, tls.ca));
      const caInfo = await parseCertificate(tls.ca);
      const years = (caInfo.notAfter.getTime() - Date.now()) / (365 * 864e5);
      assert(years > 9.9, `CA lifetime ${years} years`);
    },
  );

  await t.step("a second run without --force changes nothing", async () => {
    const before = await snapshot(out);
    const r = await osctl(
      "gen",
      "config",
      "demo",
      "https://127.5.0.2:6443",
      "--output-dir",
      out,
    );
    assertEquals(r.code, 1);
    assertIncludes(r.stderr, "refusing to overwrite");
    assertEquals(await snapshot(out), before);
  });

  await t.step(
    "--with-secrets reuses the bundle; --force overwrites",
    async () => {
      const secrets = await loadSecretsBundle(`${out}/secrets.yaml`);
      const other = `${dir.path}/other`;
      const r = await osctl(
        "gen",
        "config",
        "demo2",
        "10.5.0.2",
        "--output-dir",
        other,
        "--with-secrets",
        `${out}/secrets.yaml`,
        "--install-disk",
        "/dev/vda",
      );
      assertEquals(r.code, 0, r.stderr);
      const w = await loadMachineConfig(`${other}/worker.yaml`);
      assertEquals(w.machine.token, secrets.trustdinfo.token);
      assertEquals(w.machine.ca.crt, secrets.certs.os.crt);
      assertEquals(w.machine.install, { disk: "/dev/vda" });
      const forced = await osctl(
        "gen",
        "config",
        "demo",
        "127.5.0.2",
        "--output-dir",
        out,
        "--force",
      );
      assertEquals(forced.code, 0, forced.stderr);
      assert(
        (await loadSecretsBundle(`${out}/secrets.yaml`)).trustdinfo.token !==
          secrets.trustdinfo.token,
      );
    },
  );

  await t.step("bad arguments and bad configs are reported", async () => {
    const bad = await osctl(
      "gen",
      "config",
      "bad name",
      "http://x",
      "--output-dir",
      `${dir.path}/bad`,
    );
    assertEquals(bad.code, 1);
    assertIncludes(bad.stderr, "invalid cluster name");
    assertIncludes(bad.stderr, 'scheme must be "https"');
    const usage = await osctl("gen", "config", "only-one");
    assertEquals(usage.code, 2);
    const file = `${dir.path}/bad.yaml`;
    const text = await Deno.readTextFile(`${out}/worker.yaml`);
    await Deno.writeTextFile(
      file,
      text.replace("type: worker", "type: x") + "extra: 1\n",
    );
    const v = await osctl("validate", "--config", file);
    assertEquals(v.code, 1);
    assertIncludes(
      v.stderr,
      '2 errors occurred:\n\t* unknown key "extra" (.extra)\n\t* unknown machine type "x" (.machine.type)',
    );
  });

  await t.step(
    "config merge, contexts, context, endpoint, node, info",
    async () => {
      const conf = `${dir.path}/home/.osctl/config`;
      const g = ["--osconfig", conf];
      assertEquals(
        (await osctl(...g, "config", "merge", `${out}/osconfig`)).code,
        0,
      );
      const again = await osctl(...g, "config", "merge", `${out}/osconfig`);
      assertIncludes(
        again.stderr,
        'renamed osconfig context "demo" -> "demo-1"',
      );
      assertEquals((await Deno.stat(conf)).mode! & 0o777, 0o600);
      const list = await osctl(...g, "config", "contexts");
      assertEquals(
        list.stdout,
        "CURRENT   NAME     ENDPOINTS   NODES\n          demo     127.5.0.2\n*         demo-1   127.5.0.2\n",
      );
      assertEquals((await osctl(...g, "config", "context", "demo")).code, 0);
      assertEquals((await osctl(...g, "config", "context", "nope")).code, 1);
      assertEquals(
        (await osctl(...g, "config", "endpoint", "127.5.0.2", "127.5.0.3"))
          .code,
        0,
      );
      assertEquals(
        (await osctl(...g, "config", "node", "127.5.0.4,127.5.0.5")).code,
        0,
      );
      const info = await osctl(...g, "config", "info");
      assertIncludes(info.stdout, "Current context:     demo\n");
      assertIncludes(
        info.stdout,
        "Nodes:               127.5.0.4, 127.5.0.5\n",
      );
      assertIncludes(
        info.stdout,
        "Endpoints:           127.5.0.2, 127.5.0.3\n",
      );
      assertIncludes(info.stdout, "Roles:               os:admin\n");
      assertIncludes(info.stdout, "Certificate expires: 1 year(s) from now");
      const json = await osctl(...g, "-o", "json", "config", "contexts");
      assertEquals(JSON.parse(json.stdout)[0].nodes, [
        "127.5.0.4",
        "127.5.0.5",
      ]);
    },
  );
});
