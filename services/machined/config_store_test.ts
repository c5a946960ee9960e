import assert from "node:assert/strict";
import {
  type MachineConfig,
  parseMachineConfig,
  stringifyMachineConfig,
} from "../../lib/config/mod.ts";
import { tempDir } from "../../lib/testing/mod.ts";
import { configHash, ConfigStore, HISTORY_SIZE } from "./config_store.ts";

const CA = btoa(
  "-----BEGIN CERTIFICATE-----\nMIIBfzCCASWgAwIBAgIQdGVzdA==\n-----END CERTIFICATE-----\n",
);

/** A long DNS name (~200 bytes), so a padded config is ~50 KB. */
function sanName(i: number): string {
  const label = "x".repeat(60);
  return `s${i}.${label}.${label}.${label}.example.org`;
}

function config(hostname: string, padding = 0): string {
  const c: MachineConfig = {
    version: "v1alpha1",
    machine: {
      type: "worker",
      token: "abc123.0123456789abcdef",
      ca: { crt: CA },
      // A long SAN list makes a large file, so a kill lands mid-write.
      certSANs: Array.from({ length: padding }, (_, i) => sanName(i)),
      network: { hostname },
    },
    cluster: {
      name: "demo",
      controlPlane: { endpoint: "https://127.17.0.2:6443" },
    },
  };
  return stringifyMachineConfig(c);
}

Deno.test("ConfigStore", async (t) => {
  await using dir = await tempDir();
  const path = `${dir.path}/config`;
  let clock = Date.parse("2026-12-04T00:00:00Z");
  const now = () => (clock += 1000);

  await t.step("the first open accepts the seed", async () => {
    const store = await ConfigStore.open(path, {
      seed: () => Promise.resolve(config("w1")),
      now,
    });
    assert.equal(store.current().config.machine.network?.hostname, "w1");
    const [r] = store.history();
    assert.equal(r.seq, 1);
    assert.equal(r.actor, "seed");
    assert.equal(r.hash, await configHash(config("w1")));
    assert.equal(
      (await Deno.stat(`${path}/machine.yaml`)).mode! & 0o777,
      0o600,
    );
  });

  await t.step("a later open ignores the seed: the state wins", async () => {
    const store = await ConfigStore.open(path, {
      seed: () => Promise.resolve(config("other")),
    });
    assert.equal(store.current().config.machine.network?.hostname, "w1");
    assert.equal(store.history().length, 1);
  });

  await t.step(
    "accept records actor, mode, hash; history keeps 16",
    async () => {
      const store = await ConfigStore.open(path, { now });
      for (let i = 2; i <= 20; i++) {
        await store.accept(config(`w${i}`), {
          actor: "admin",
          mode: "no_reboot",
        });
      }
      const h = store.history();
      assert.equal(h.length, HISTORY_SIZE);
      assert.equal(h[0].seq, 5);
      assert.equal(h.at(-1)!.seq, 20);
      assert.equal(h.at(-1)!.actor, "admin");
      assert.equal(h.at(-1)!.mode, "no_reboot");
      assert.equal(
        parseMachineConfig(await store.recordYaml(7)).machine.network?.hostname,
        "w7",
      );
      await assert.rejects(() => store.recordYaml(4), /No config #4/);
      const files = [...Deno.readDirSync(`${path}/history`)].map((e) => e.name);
      assert.equal(files.length, HISTORY_SIZE);
      const reopened = await ConfigStore.open(path);
      assert.deepEqual(reopened.history(), h);
      assert.equal(reopened.current().config.machine.network?.hostname, "w20");
    },
  );

  await t.step("staged configs survive a reopen and are promoted", async () => {
    const store = await ConfigStore.open(path, { now });
    await store.stage(config("staged"), "op");
    const reopened = await ConfigStore.open(path, { now });
    assert.equal(reopened.staged()?.actor, "op");
    assert.equal(reopened.current().config.machine.network?.hostname, "w20");
    const r = await reopened.promoteStaged();
    assert.equal(r?.mode, "staged");
    assert.equal(r?.actor, "op");
    assert.equal(reopened.staged(), undefined);
    assert.equal(
      (await ConfigStore.open(path)).current().config.machine.network?.hostname,
      "staged",
    );
  });

  await t.step("an invalid config is never accepted", async () => {
    const store = await ConfigStore.open(path);
    await assert.rejects(
      () => store.accept("version: v1alpha1\n", { actor: "a", mode: "m" }),
      /machine/,
    );
    assert.equal(store.current().config.machine.network?.hostname, "staged");
  });

  await t.step("a lost history record is recovered at open", async () => {
    const store = await ConfigStore.open(path);
    const h = store.history();
    // As if machined died between machine.yaml and history.json.
    await Deno.writeTextFile(`${path}/machine.yaml`, config("crashed"));
    const reopened = await ConfigStore.open(path);
    assert.equal(reopened.history().at(-1)!.mode, "recovered");
    assert.equal(reopened.history().at(-1)!.seq, h.at(-1)!.seq + 1);
  });

  await t.step("no stored config and no seed is an error", async () => {
    await assert.rejects(
      () => ConfigStore.open(`${dir.path}/empty`),
      /does not exist and no seed config was given/,
    );
  });
});

Deno.test("ConfigStore: kill -9 in the middle of accepts leaves a whole config", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/config`;
  const big = (n: number) => config(`node-${n}`, 250);
  const store = await ConfigStore.open(path, {
    seed: () => Promise.resolve(big(0)),
  });
  const valid = new Set<string>([store.current().hash]);
  for (let n = 1; n <= 400; n++) valid.add(await configHash(big(n)));
  const storeUrl = new URL("./config_store.ts", import.meta.url).href;
  const code = `
    import { ConfigStore } from ${JSON.stringify(storeUrl)};
    import { stringifyMachineConfig } from ${
    JSON.stringify(new URL("../../lib/config/mod.ts", import.meta.url).href)
  };
    const CA = ${JSON.stringify(CA)};
    const L = "x".repeat(60);
    const store = await ConfigStore.open(${JSON.stringify(path)});
    console.log("ready");
    for (let n = 1; n <= 400; n++) {
      await store.accept(stringifyMachineConfig({
        version: "v1alpha1",
        machine: {
          type: "worker", token: "abc123.0123456789abcdef", ca: { crt: CA },
          certSANs: Array.from({ length: 250 }, (_, i) => "s" + i + "." + L + "." + L + "." + L + ".example.org"),
          network: { hostname: "node-" + n },
        },
        cluster: { name: "demo", controlPlane: { endpoint: "https://127.17.0.2:6443" } },
      }), { actor: "writer", mode: "no_reboot" });
    }
  `;
  let lastSeq = 1;
  let progressed = 0;
  for (let round = 0; round < 6; round++) {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["eval", "--no-check", code],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const reader = child.stdout.getReader();
    await reader.read(); // "ready": the store is open, accepts are running
    reader.releaseLock();
    await new Promise((r) => setTimeout(r, 50 + round * 60));
    child.kill("SIGKILL");
    await child.status;
    await child.stdout.cancel().catch(() => {});
    // The next open removes what the kill left behind.
    const after = await ConfigStore.open(path);
    assert.ok(
      valid.has(after.current().hash),
      `round ${round}: ${after.current().config.machine.network?.hostname}`,
    );
    const yaml = await Deno.readTextFile(`${path}/machine.yaml`);
    assert.ok(valid.has(await configHash(yaml)), `round ${round}: a mix`);
    assert.equal(after.history().at(-1)!.hash, after.current().hash);
    const seq = after.history().at(-1)!.seq;
    if (seq > lastSeq) progressed++;
    lastSeq = seq;
    for (const d of [path, `${path}/history`]) {
      for (const e of Deno.readDirSync(d)) {
        assert.ok(!e.name.includes(".tmp-"), `left over: ${e.name}`);
      }
    }
  }
  // The writer got some accepts done between the kills.
  assert.ok(progressed >= 3, `progressed in ${progressed} of 6 rounds`);
});
