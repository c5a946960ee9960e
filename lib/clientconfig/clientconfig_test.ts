import { CertificateAuthority, parseCertificate } from "../pki/mod.ts";
import { ConfigValidationError, formatProblem } from "../config/mod.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  assertThrows,
  tempDir,
} from "../testing/mod.ts";
import {
  clientConfigPath,
  contextTls,
  loadClientConfig,
  mergeClientConfigs,
  mintClientConfig,
  parseClientConfig,
  saveClientConfig,
  stringifyClientConfig,
} from "./mod.ts";

Deno.test("mintClientConfig() issues a role certificate and round-trips", async () => {
  const ca = await CertificateAuthority.create();
  const cfg = await mintClientConfig(ca, {
    contextName: "demo",
    roles: ["os:reader"],
    ttlMs: 3600e3,
    endpoints: ["127.5.0.2"],
  });
  assertEquals(cfg.context, "demo");
  const tls = contextTls(cfg.contexts.demo);
  const info = await parseCertificate(tls.cert);
  assertEquals(info.subject, {
    commonName: "reader",
    organizations: ["os:reader"],
  });
  assertEquals(info.extKeyUsages, ["clientAuth"]);
  assertEquals(tls.ca, ca.crtPem);
  assertEquals(parseClientConfig(stringifyClientConfig(cfg)), cfg);
  await assertRejects(
    () => mintClientConfig(ca, { contextName: "x", roles: ["os:root"] }),
    Error,
    'unknown role "os:root"',
  );
  await assertRejects(
    () =>
      mintClientConfig(ca, { contextName: "x", roles: ["os:impersonator"] }),
    Error,
    'unknown role "os:impersonator"',
  );
});

Deno.test("parseClientConfig() reports every problem without quoting credentials", () => {
  const err = assertThrows(() =>
    parseClientConfig(
      "context: nope\ncontexts:\n  a:\n    ca: '!!'\n    crt: c2VjcmV0\n    extra: 1\n",
    )
  );
  assert(err instanceof ConfigValidationError);
  assertEquals(err.problems.map(formatProblem), [
    'unknown key "extra" (.contexts.a.extra)',
    "expected base64-encoded PEM (.contexts.a.ca)",
    "expected base64-encoded PEM (.contexts.a.key)",
    'context "nope" is not defined in contexts (.context)',
  ]);
  assertEquals(parseClientConfig(""), { context: "", contexts: {} });
});

Deno.test("mergeClientConfigs() renames clashing contexts like talosctl", () => {
  const ctx = {
    endpoints: [],
    nodes: [],
    ca: "YQ==",
    crt: "YQ==",
    key: "YQ==",
  };
  const base = { context: "demo", contexts: { demo: ctx, "demo-1": ctx } };
  const { config, renamed } = mergeClientConfigs(base, {
    context: "demo",
    contexts: { demo: { ...ctx, nodes: ["n"] } },
  });
  assertEquals(renamed, [["demo", "demo-2"]]);
  assertEquals(config.context, "demo-2");
  assertEquals(config.contexts["demo-2"].nodes, ["n"]);
  assertEquals(Object.keys(config.contexts), ["demo", "demo-1", "demo-2"]);
});

Deno.test("clientConfigPath(): --osconfig > $OSCONFIG > ~/.osctl/config", () => {
  const env = (vars: Record<string, string>) => (n: string) => vars[n];
  assertEquals(
    clientConfigPath({
      osconfig: "/a",
      env: env({ OSCONFIG: "/b", HOME: "/h" }),
    }),
    "/a",
  );
  assertEquals(
    clientConfigPath({ env: env({ OSCONFIG: "/b", HOME: "/h" }) }),
    "/b",
  );
  assertEquals(
    clientConfigPath({ env: env({ HOME: "/h" }) }),
    "/h/.osctl/config",
  );
  assertThrows(
    () => clientConfigPath({ env: env({}) }),
    Error,
    "set --osconfig, $OSCONFIG or $HOME",
  );
});

Deno.test("saveClientConfig() writes 0600 in a 0700 folder", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/sub/config`;
  const cfg = { context: "", contexts: {} };
  await saveClientConfig(path, cfg);
  assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
  assertEquals((await Deno.stat(`${dir.path}/sub`)).mode! & 0o777, 0o700);
  assertEquals(await loadClientConfig(path), cfg);
  assertEquals(
    await loadClientConfig(`${dir.path}/none`, { allowMissing: true }),
    cfg,
  );
  await assertRejects(
    () => loadClientConfig(`${dir.path}/none`),
    Error,
    /^Cannot read client config ".*\/none"$/,
  );
});
