import { ApiError } from "../../lib/api_error/mod.ts";
import {
  generateMachineConfigs,
  generateSecretsBundle,
  stringifyMachineConfig,
} from "../../lib/config/mod.ts";
import {
  assert,
  assertEquals,
  assertIncludes,
  assertThrows,
} from "../../lib/testing/mod.ts";
import { checkApplyRequest } from "./apply_config.ts";

Deno.test("checkApplyRequest() validates the config and the mode", async (t) => {
  const secrets = await generateSecretsBundle();
  const yaml = stringifyMachineConfig(
    generateMachineConfigs("c", "10.5.0.2", { secrets }).worker,
  );
  const data = new TextEncoder().encode(yaml);
  const invalid = (d: Uint8Array, mode: string, ...parts: string[]) => {
    const err = assertThrows(() => checkApplyRequest(d, mode));
    assert(err instanceof ApiError && err.status === "InvalidArgument");
    for (const p of parts) assertIncludes(err.message, p);
  };
  await t.step(
    "a good config; no mode is auto; no-reboot spelled either way",
    () => {
      const c = checkApplyRequest(data, "");
      assertEquals([c.mode, c.yaml, c.config.machine.type], [
        "auto",
        yaml,
        "worker",
      ]);
      assertEquals(checkApplyRequest(data, "no-reboot").mode, "no_reboot");
    },
  );
  await t.step("every problem is listed", () => {
    invalid(
      new TextEncoder().encode("version: v1alpha1\nmachine:\n  type: x\n"),
      "auto",
      'unknown machine type "x"',
      "machine token is required",
      "cluster instructions are required",
    );
  });
  await t.step("empty data, YAML errors and unknown modes", () => {
    invalid(new Uint8Array(0), "auto", "no config");
    invalid(new TextEncoder().encode("a: [\n"), "auto");
    invalid(data, "later", 'unknown apply mode "later"');
  });
});
