import assert from "node:assert/strict";
import type { ApplyConfigurationRequest } from "../../lib/api/gen/machine/machine.ts";
import { ApiError } from "../../lib/api_error/mod.ts";
import {
  generateMachineConfigs,
  generateSecretsBundle,
  type MachineConfig,
  stringifyMachineConfig,
} from "../../lib/config/mod.ts";
import { createLogger } from "../../lib/log/mod.ts";
import { tempDir, waitUntil } from "../../lib/testing/mod.ts";
import { ConfigLifecycle } from "./config_lifecycle.ts";
import { ConfigStore } from "./config_store.ts";

const encoder = new TextEncoder();

function request(
  config: MachineConfig | undefined,
  extra: Partial<ApplyConfigurationRequest> = {},
): ApplyConfigurationRequest {
  return {
    data: config
      ? encoder.encode(stringifyMachineConfig(config))
      : new Uint8Array(),
    mode: "auto",
    dryRun: false,
    tryModeTimeoutMs: 0,
    force: false,
    rollback: 0,
    ...extra,
  };
}

Deno.test("ConfigLifecycle carries out every mode", async (t) => {
  await using dir = await tempDir();
  const secrets = await generateSecretsBundle();
  const { worker } = generateMachineConfigs("c", "127.17.0.2", { secrets });
  worker.machine.network = { hostname: "w1" };
  // Each change starts from the stored config: only what it names differs.
  let base = (): MachineConfig => worker;
  const host = (h: string, f?: (c: MachineConfig) => void): MachineConfig => {
    const c = structuredClone(base());
    c.machine.network!.hostname = h;
    f?.(c);
    return c;
  };
  const store = await ConfigStore.open(`${dir.path}/config`, {
    seed: () => Promise.resolve(stringifyMachineConfig(worker)),
  });
  const live: string[] = [];
  const events: string[] = [];
  const life = new ConfigLifecycle(store, {
    applyLive: (next, fields) => {
      live.push(`${next.machine.network?.hostname}:${fields.join(",")}`);
    },
    event: (m) => void events.push(m),
  }, createLogger("test", { sink: { write: () => {} } }));
  base = () => store.current().config;
  const hostname = () => life.running().machine.network?.hostname;
  const stored = () => store.current().config.machine.network?.hostname;

  await t.step("no-reboot: live and stored, with the actor", async () => {
    const r = await life.apply(
      request(host("w2"), { mode: "no_reboot" }),
      "alice",
    );
    assert.equal(r.mode, "no_reboot");
    assert.match(r.modeDetails, /without a reboot/);
    assert.deepEqual(live, ["w2:.machine.network.hostname"]);
    assert.equal(hostname(), "w2");
    assert.equal(stored(), "w2");
    assert.equal(store.history().at(-1)!.actor, "alice");
    assert.equal(r.reboot, false);
  });
  await t.step("dry run: the diff, nothing changes", async () => {
    const before = store.history().length;
    const r = await life.apply(request(host("w3"), { dryRun: true }), "alice");
    assert.match(r.modeDetails, /^Dry run summary:/);
    assert.ok(r.diff.includes("+    hostname: w3"), r.diff);
    assert.equal(hostname(), "w2");
    assert.equal(store.history().length, before);
  });
  await t.step("auto with a reboot field: stored, then a reboot", async () => {
    const next = host("w2", (c) => (c.machine.install = { disk: "/dev/vdb" }));
    const r = await life.apply(request(next), "bob");
    assert.equal(r.mode, "auto(reboot)");
    assert.equal(r.reboot, true);
    assert.equal(store.current().config.machine.install?.disk, "/dev/vdb");
  });
  await t.step("staged: pending, the running config unchanged", async () => {
    const r = await life.apply(
      request(host("st"), { mode: "staged" }),
      "carol",
    );
    assert.match(r.modeDetails, /after the next reboot/);
    assert.equal(hostname(), "w2");
    assert.equal(store.staged()?.actor, "carol");
    const h = await life.history(true);
    assert.equal(h.staged?.mode, "staged");
    assert.ok(h.staged!.diff.includes("+    hostname: st"));
    // Another apply supersedes it.
    await life.apply(request(host("w4"), { mode: "no_reboot" }), "dave");
    assert.equal(store.staged(), undefined);
  });
  await t.step("try: live, then reverted after its timeout", async () => {
    await life.apply(
      request(host("tried"), { mode: "try", tryModeTimeoutMs: 1000 }),
      "erin",
    );
    assert.equal(hostname(), "tried");
    assert.equal(stored(), "w4");
    const h = await life.history(false);
    assert.equal(h.trying?.actor, "erin");
    assert.notEqual(h.tryRevertsAt, "");
    await waitUntil(() => hostname() === "w4", { timeoutMs: 5000 });
    assert.equal(live.at(-1), "w4:.machine.network.hostname");
    assert.equal((await life.history(false)).trying, undefined);
  });
  await t.step("try: kept when a second apply confirms it", async () => {
    await life.apply(
      request(host("kept"), { mode: "try", tryModeTimeoutMs: 1000 }),
      "erin",
    );
    const r = await life.apply(
      request(host("kept"), { mode: "no_reboot" }),
      "erin",
    );
    assert.match(r.modeDetails, /No changes/);
    assert.equal(stored(), "kept");
    await new Promise((r) => setTimeout(r, 1300));
    assert.equal(hostname(), "kept");
  });
  await t.step(
    "refusals: reboot fields in no-reboot, another cluster",
    async () => {
      const err = await life.apply(
        request(host("x", (c) => (c.machine.install = { disk: "/dev/vdc" })), {
          mode: "no_reboot",
        }),
        "f",
      ).catch((e) => e);
      assert.ok(err instanceof ApiError && err.status === "InvalidArgument");
      assert.match(err.message, /\.machine\.install\.disk needs a reboot/);
      const other = generateMachineConfigs("c", "127.17.0.2", {
        secrets: await generateSecretsBundle(),
      }).worker;
      const refused = await life.apply(request(other), "f").catch((e) => e);
      assert.ok(refused instanceof ApiError);
      assert.equal(refused.status, "FailedPrecondition");
      assert.match(refused.message, /another cluster/);
      assert.equal(stored(), "kept");
    },
  );
  await t.step("an unchanged apply records nothing", async () => {
    const n = store.history().length;
    await life.apply(request(host("kept")), "g");
    assert.equal(store.history().length, n);
  });
  await t.step("rollback re-applies an earlier config", async () => {
    const r = await life.apply(
      request(undefined, { rollback: 1, mode: "no_reboot" }),
      "h",
    );
    assert.match(r.modeDetails, /rolled back to config #/);
    assert.equal(stored(), "w4");
    assert.match(store.history().at(-1)!.mode, /^rollback\(/);
    const tooFar = await life.apply(request(undefined, { rollback: 15 }), "h")
      .catch((e) => e);
    assert.ok(tooFar instanceof ApiError);
    assert.match(tooFar.message, /cannot roll back 15/);
  });
  await t.step("a failing live apply keeps the last good state", async () => {
    const said: string[] = [];
    const failing = new ConfigLifecycle(store, {
      applyLive: (next) => {
        if (next.machine.network?.hostname === "bad") throw new Error("boom");
      },
      event: (m) => void said.push(m),
    }, createLogger("test", { sink: { write: () => {} } }));
    const err = await failing.apply(request(host("bad")), "i").catch((e) => e);
    assert.ok(err instanceof ApiError);
    assert.match(
      err.message,
      /cannot apply \.machine\.network\.hostname live: boom/,
    );
    assert.equal(failing.running().machine.network?.hostname, "w4");
    assert.match(said.join("\n"), /config not applied: .*failed live \(boom\)/);
    assert.equal(stored(), "w4");
  });
  life.close();
});
