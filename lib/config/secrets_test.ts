import {
  ConfigValidationError,
  formatProblem,
  generateMachineConfigs,
  generateSecretsBundle,
  parseSecretsBundle,
  stringifySecretsBundle,
} from "./mod.ts";
import { assert, assertEquals, assertThrows } from "../testing/mod.ts";

Deno.test("secrets bundles carry an etcd CA apart from the OS CA", async (t) => {
  const secrets = await generateSecretsBundle();
  await t.step("generated with both CAs, and round-trips", () => {
    assert(secrets.certs.etcd, "no etcd CA");
    assert(secrets.certs.etcd.crt !== secrets.certs.os.crt);
    assert(secrets.certs.etcd.key !== secrets.certs.os.key);
    assertEquals(
      parseSecretsBundle(stringifySecretsBundle(secrets)),
      secrets,
    );
  });
  await t.step("a bundle made before etcd still loads", () => {
    const legacy = structuredClone(secrets);
    delete legacy.certs.etcd;
    const parsed = parseSecretsBundle(stringifySecretsBundle(legacy));
    assertEquals(parsed.certs.etcd, undefined);
    const configs = generateMachineConfigs("demo", "127.18.0.2", {
      secrets: parsed,
    });
    assertEquals(configs.controlplane.cluster.etcd, undefined);
  });
  await t.step("only the control plane config holds the etcd CA", () => {
    const configs = generateMachineConfigs("demo", "127.18.0.2", { secrets });
    assertEquals(configs.controlplane.cluster.etcd, {
      ca: { crt: secrets.certs.etcd!.crt, key: secrets.certs.etcd!.key },
    });
    assertEquals(configs.worker.cluster.etcd, undefined);
  });
  await t.step("a bad etcd CA is named by its path", () => {
    const bad = structuredClone(secrets) as unknown as {
      certs: { etcd: Record<string, unknown> };
    };
    bad.certs.etcd.key = 42;
    bad.certs.etcd.extra = "x";
    const err = assertThrows(
      () => parseSecretsBundle(stringifySecretsBundle(bad as never)),
      ConfigValidationError,
    );
    assertEquals(err.problems.map(formatProblem), [
      'unknown key "extra" (.certs.etcd.extra)',
      "expected base64-encoded PEM (.certs.etcd.key)",
    ]);
  });
});
