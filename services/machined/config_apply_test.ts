import assert from "node:assert/strict";
import { ApiError } from "../../lib/api_error/mod.ts";
import {
  generateMachineConfigs,
  generateSecretsBundle,
  type MachineConfig,
} from "../../lib/config/mod.ts";
import {
  changedFields,
  formatDuration,
  planApply,
  planDetails,
} from "./config_apply.ts";

Deno.test("planApply() decides every mode", async (t) => {
  const secrets = await generateSecretsBundle();
  const { worker } = generateMachineConfigs("c", "127.17.0.2", { secrets });
  worker.machine.network = { hostname: "w1" };
  const edit = (f: (c: MachineConfig) => void): MachineConfig => {
    const c = structuredClone(worker);
    f(c);
    return c;
  };
  const hostname = edit((c) => (c.machine.network!.hostname = "w2"));
  const level = edit((c) => (c.machine.logging = { level: "debug" }));
  const sans = edit((c) => (c.machine.certSANs = ["w1.example.org"]));
  const both = edit((c) => {
    c.machine.network!.hostname = "w2";
    c.machine.install = { disk: "/dev/vdb" };
  });
  const code = (f: () => unknown) => {
    try {
      f();
    } catch (err) {
      assert.ok(err instanceof ApiError);
      return [err.status, err.message];
    }
    return undefined;
  };

  await t.step("changed fields: leaves, lists whole", () => {
    assert.deepEqual(changedFields(worker, both), [
      ".machine.install.disk",
      ".machine.network.hostname",
    ]);
    assert.deepEqual(changedFields(worker, sans), [".machine.certSANs"]);
    assert.deepEqual(changedFields(worker, structuredClone(worker)), []);
  });
  await t.step("auto: live when every field is live, else reboot", () => {
    const live = planApply(worker, hostname, { mode: "auto", force: false });
    assert.equal(live.outcome, "live");
    assert.equal(live.mode, "auto(no_reboot)");
    assert.equal(
      planApply(worker, level, { mode: "auto", force: false }).outcome,
      "live",
    );
    const reboot = planApply(worker, both, { mode: "auto", force: false });
    assert.equal(reboot.outcome, "reboot");
    assert.deepEqual(reboot.needsReboot, [".machine.install.disk"]);
    assert.equal(
      planApply(worker, worker, { mode: "auto", force: false }).outcome,
      "unchanged",
    );
  });
  await t.step("no-reboot and try refuse naming each field", () => {
    const [status, message] = code(() =>
      planApply(worker, both, { mode: "no_reboot", force: false })
    )!;
    assert.equal(status, "InvalidArgument");
    assert.match(message, /\.machine\.install\.disk needs a reboot/);
    assert.doesNotMatch(message, /hostname/);
    assert.match(
      code(() => planApply(worker, both, { mode: "try", force: false }))![1],
      /in try mode: \.machine\.install\.disk needs a reboot/,
    );
    assert.equal(
      planApply(worker, hostname, { mode: "try", force: false }).outcome,
      "try",
    );
  });
  await t.step("staged and reboot", () => {
    assert.equal(
      planApply(worker, both, { mode: "staged", force: false }).outcome,
      "staged",
    );
    assert.equal(
      planApply(worker, hostname, { mode: "reboot", force: false }).outcome,
      "reboot",
    );
  });
  await t.step(
    "another cluster or another type: refused unless forced",
    async () => {
      const other = generateMachineConfigs("c", "127.17.0.2", {
        secrets: await generateSecretsBundle(),
      }).worker;
      const [status, message] = code(() =>
        planApply(worker, other, { mode: "auto", force: false })
      )!;
      assert.equal(status, "FailedPrecondition");
      assert.match(
        message,
        /another cluster: machine\.ca\.crt and machine\.token differ/,
      );
      assert.match(message, /--force/);
      const typed = edit((c) => (c.machine.type = "controlplane"));
      assert.match(
        code(() =>
          planApply(worker, typed, { mode: "staged", force: false })
        )![1],
        /machine\.type would change from worker to controlplane/,
      );
      const forced = planApply(worker, other, { mode: "staged", force: true });
      assert.equal(forced.outcome, "staged");
      assert.match(
        forced.warnings[0],
        /^forced: the config belongs to another cluster/,
      );
    },
  );
  await t.step(
    "the diff is redacted; dry-run details as Talos words them",
    () => {
      const p = planApply(worker, hostname, {
        mode: "no_reboot",
        force: false,
      });
      assert.ok(
        p.diff.includes("-    hostname: w1\n+    hostname: w2"),
        p.diff,
      );
      assert.ok(!p.diff.includes(worker.machine.token));
      const text = planDetails(p, { dryRun: true });
      assert.match(
        text,
        /^Dry run summary:\nApplied configuration without a reboot/,
      );
      assert.match(text, /\(skipped in dry-run\)\.\n\nConfig diff:\n\n---/);
      const none = planApply(worker, worker, { mode: "auto", force: false });
      assert.match(planDetails(none, { dryRun: true }), /No changes\.$/);
      assert.match(
        planDetails(
          planApply(worker, hostname, { mode: "try", force: false }),
          {
            dryRun: false,
            tryTimeoutMs: 90_000,
          },
        ),
        /reverted back in 1m30s/,
      );
    },
  );
  await t.step("durations", () => {
    assert.equal(formatDuration(60_000), "1m0s");
    assert.equal(formatDuration(5_000), "5s");
    assert.equal(formatDuration(3_723_000), "1h2m3s");
  });
});
