import assert from "node:assert/strict";
import { join } from "node:path";
import { tempDir } from "../testing/mod.ts";
import {
  generateReleaseKey,
  importReleasePrivateKey,
  parseTrustedKeys,
  ReleaseStore,
  verifyBundle,
  writeBundle,
} from "./mod.ts";

async function bundleOf(
  dir: string,
  version: string,
  key: CryptoKey,
): Promise<string> {
  const src = join(dir, `src-${version}`);
  await Deno.mkdir(join(src, "services/machined"), { recursive: true });
  await Deno.writeTextFile(
    join(src, "build_info.json"),
    `{"tag":"${version}"}`,
  );
  await Deno.writeTextFile(join(src, "services/machined/main.ts"), "// m\n");
  const out = join(dir, `${version}.bundle`);
  await writeBundle(out, {
    root: src,
    files: ["build_info.json", "services/machined/main.ts"],
    version,
    privateKey: key,
  });
  return out;
}

Deno.test("ReleaseStore installs, switches, rolls back and abandons trials", async (t) => {
  await using dir = await tempDir();
  const pair = await generateReleaseKey();
  const priv = await importReleasePrivateKey(pair.privateKeyPem);
  const opts = {
    trustedKeys: await parseTrustedKeys(pair.publicKeyPem, "test"),
    maxBytes: 1 << 20,
    currentVersion: "v0.1.0",
  };
  const store = new ReleaseStore(join(dir.path, "releases"));
  const b1 = await bundleOf(dir.path, "v0.1.0", priv);
  const b2 = await bundleOf(dir.path, "v0.2.0", priv);
  const r1 = await store.install(b1, await verifyBundle(b1, opts));
  await store.activate(r1);
  const r2 = await store.install(b2, await verifyBundle(b2, opts));

  await t.step("a release holds the bundle's files", async () => {
    assert.match(r2, /^v0\.2\.0-[0-9a-f]{12}$/);
    assert.equal(
      await Deno.readTextFile(join(store.path(r2), "build_info.json")),
      '{"tag":"v0.2.0"}',
    );
    assert.deepEqual(await store.list(), [r1, r2]);
  });

  await t.step("activate switches current and remembers previous", async () => {
    await store.activate(r2);
    assert.equal(await store.current(), r2);
    assert.equal(await store.previous(), r1);
    const cur = await Deno.readTextFile(
      join(store.dir, "current", "build_info.json"),
    );
    assert.equal(cur, '{"tag":"v0.2.0"}');
  });

  await t.step("rollback swaps them", async () => {
    assert.deepEqual(await store.rollback(), { from: r2, to: r1 });
    assert.equal(await store.current(), r1);
    assert.equal(await store.previous(), r2);
  });

  await t.step("an abandoned trial returns to where it came from", async () => {
    await store.activate(r2);
    await store.beginTrial({ from: r1, to: r2, deadline: 123 });
    assert.deepEqual(await store.trial(), { from: r1, to: r2, deadline: 123 });
    assert.deepEqual(await store.abandonTrial(), {
      from: r1,
      to: r2,
      deadline: 123,
    });
    assert.equal(await store.current(), r1);
    assert.equal(await store.trial(), undefined);
  });

  await t.step(
    "a bundle changed after verification is not installed",
    async () => {
      const b3 = await bundleOf(dir.path, "v0.3.0", priv);
      const v = await verifyBundle(b3, opts);
      const bytes = await Deno.readFile(b3);
      bytes[bytes.length - 2] ^= 1;
      await Deno.writeFile(b3, bytes);
      await assert.rejects(
        store.install(b3, v),
        /changed since it was verified/,
      );
      const left = [];
      for await (const e of Deno.readDir(store.dir)) left.push(e.name);
      assert.deepEqual(
        left.filter((n) => !["current", "previous"].includes(n)).sort(),
        [r1, r2],
      );
    },
  );

  await t.step("rollback without a previous release is refused", async () => {
    const fresh = new ReleaseStore(join(dir.path, "fresh"));
    await assert.rejects(fresh.rollback(), /no previous release/);
  });
});
