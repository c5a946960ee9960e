import assert from "node:assert/strict";
import { join } from "node:path";
import {
  generateMachineConfigs,
  generateSecretsBundle,
  parseMachineConfig,
  stringifyMachineConfig,
} from "../../lib/config/mod.ts";
import { tempDir } from "../../lib/testing/mod.ts";
import {
  parseTrustedKeys,
  UpgradeRefusedError,
  verifyBundle,
} from "../../lib/upgrade/mod.ts";
import type { CommandContext } from "../command.ts";
import { GEN_RELEASE_COMMANDS } from "./gen_release.ts";

function ctx(): CommandContext & { err: string[] } {
  const err: string[] = [];
  return {
    err,
    globals: { nodes: [], endpoints: [], output: "table" },
    io: { stdout: () => {}, stderr: (t) => err.push(t) },
    signal: new AbortController().signal,
  };
}

const cmd = (name: string) =>
  GEN_RELEASE_COMMANDS.find((c) => c.name === name)!;

Deno.test("gen release-key and gen bundle make a bundle the key verifies", async (t) => {
  await using dir = await tempDir();
  const prefix = join(dir.path, "rel");
  await t.step(
    "release-key writes a 0600 private key and refuses to overwrite",
    async () => {
      assert.equal(
        await cmd("gen release-key").run(["--name", prefix], ctx()),
        0,
      );
      assert.equal((await Deno.stat(`${prefix}.key`)).mode! & 0o777, 0o600);
      await assert.rejects(
        cmd("gen release-key").run(["--name", prefix], ctx()),
        /exists; use --force/,
      );
    },
  );
  const pub = await Deno.readTextFile(`${prefix}.pub`);
  await t.step(
    "the public key is valid in machine.install.trustedKeys",
    async () => {
      const { controlplane } = generateMachineConfigs(
        "c",
        "https://127.21.0.1:6443",
        { secrets: await generateSecretsBundle() },
      );
      controlplane.machine.install = { trustedKeys: [pub] };
      const back = parseMachineConfig(stringifyMachineConfig(controlplane));
      assert.deepEqual(back.machine.install?.trustedKeys, [pub]);
    },
  );
  await t.step(
    "bundle of this tree verifies with the key, and not unsigned",
    async () => {
      const out = join(dir.path, "b.bundle");
      assert.equal(
        await cmd("gen bundle").run(
          ["--version", "v9.0.0", "--key", `${prefix}.key`, "--out", out],
          ctx(),
        ),
        0,
      );
      const v = await verifyBundle(out, {
        trustedKeys: await parseTrustedKeys(pub, "test"),
        maxBytes: 256 << 20,
        currentVersion: "v0.1.0",
      });
      assert.equal(v.manifest.version, "v9.0.0");
      const names = v.manifest.parts.map((p) => p.name);
      assert.ok(names.includes("services/machined/main.ts"));
      assert.ok(names.includes("build_info.json"));
      assert.ok(!names.some((n) => n.endsWith("_test.ts")));
      const unsigned = join(dir.path, "u.bundle");
      await cmd("gen bundle").run(
        ["--version", "v9.0.0", "--unsigned", "--out", unsigned],
        ctx(),
      );
      await assert.rejects(
        verifyBundle(unsigned, {
          trustedKeys: await parseTrustedKeys(pub, "test"),
          maxBytes: 256 << 20,
          currentVersion: "v0.1.0",
        }),
        (e) => e instanceof UpgradeRefusedError && e.reason === "unsigned",
      );
    },
  );
});
