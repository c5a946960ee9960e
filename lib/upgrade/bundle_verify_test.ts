import assert from "node:assert/strict";
import { join } from "node:path";
import { tempDir } from "../testing/mod.ts";
import {
  compareVersions,
  generateReleaseKey,
  importReleasePrivateKey,
  parseTrustedKeys,
  type RefusalReason,
  UpgradeRefusedError,
  verifyBundle,
  writeBundle,
} from "./mod.ts";

async function release(root: string): Promise<string[]> {
  await Deno.mkdir(join(root, "services/machined"), { recursive: true });
  await Deno.writeTextFile(join(root, "build_info.json"), '{"tag":"v0.2.0"}');
  await Deno.writeTextFile(
    join(root, "services/machined/main.ts"),
    "console.log('hi');\n",
  );
  return ["build_info.json", "services/machined/main.ts"];
}

async function refused(
  p: Promise<unknown>,
  reason: RefusalReason,
  text: RegExp,
): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof UpgradeRefusedError, String(e));
    assert.equal(e.reason, reason, e.message);
    assert.match(e.message, text);
    return true;
  });
}

Deno.test("verifyBundle() accepts a signed bundle and refuses each fault", async (t) => {
  await using dir = await tempDir();
  const src = join(dir.path, "src");
  const files = await release(src);
  const key = await generateReleaseKey();
  const other = await generateReleaseKey();
  const priv = await importReleasePrivateKey(key.privateKeyPem);
  const trusted = await parseTrustedKeys(key.publicKeyPem, "test");
  const base = {
    trustedKeys: trusted,
    maxBytes: 1 << 20,
    currentVersion: "v0.1.0",
  };
  const good = join(dir.path, "good.bundle");
  await writeBundle(good, {
    root: src,
    files,
    version: "v0.2.0",
    privateKey: priv,
  });

  await t.step("a good bundle passes, naming its key", async () => {
    const v = await verifyBundle(good, base);
    assert.equal(v.manifest.version, "v0.2.0");
    assert.equal(v.keyId, trusted[0].id);
    assert.equal(v.manifest.parts.length, 2);
  });

  await t.step("unsigned", async () => {
    const p = join(dir.path, "unsigned.bundle");
    await writeBundle(p, { root: src, files, version: "v0.2.0" });
    await refused(verifyBundle(p, base), "unsigned", /no signature/);
  });

  await t.step("signed by a key that is not trusted", async () => {
    const p = join(dir.path, "foreign.bundle");
    await writeBundle(p, {
      root: src,
      files,
      version: "v0.2.0",
      privateKey: await importReleasePrivateKey(other.privateKeyPem),
    });
    await refused(
      verifyBundle(p, base),
      "signature",
      /not signed by a trusted key/,
    );
    await refused(
      verifyBundle(p, { ...base, trustedKeys: [] }),
      "signature",
      /no release key is trusted/,
    );
    // trusting the other key too (as machine config would) accepts it
    const both = [
      ...trusted,
      ...await parseTrustedKeys(other.publicKeyPem, "config"),
    ];
    await verifyBundle(p, { ...base, trustedKeys: both });
  });

  await t.step("manifest edited after signing", async () => {
    const bytes = await Deno.readFile(good);
    const text = new TextDecoder().decode(bytes);
    const at = text.indexOf('"v0.2.0"');
    bytes.set(new TextEncoder().encode('"v0.3.0"'), at);
    const p = join(dir.path, "edited.bundle");
    await Deno.writeFile(p, bytes);
    await refused(verifyBundle(p, base), "signature", /bad signature/);
  });

  await t.step("a part's bytes changed (tampered)", async () => {
    const bytes = await Deno.readFile(good);
    bytes[bytes.length - 3] ^= 0xff;
    const p = join(dir.path, "tampered.bundle");
    await Deno.writeFile(p, bytes);
    await refused(
      verifyBundle(p, base),
      "manifest",
      /does not match the bytes: part 1 "services\/machined\/main.ts"/,
    );
  });

  await t.step("bytes appended or cut", async () => {
    const bytes = await Deno.readFile(good);
    const p = join(dir.path, "longer.bundle");
    await Deno.writeFile(p, new Uint8Array([...bytes, 1, 2, 3]));
    await refused(verifyBundle(p, base), "manifest", /declares \d+ bytes/);
    await Deno.writeFile(p, bytes.subarray(0, bytes.length - 1));
    await refused(verifyBundle(p, base), "manifest", /declares \d+ bytes/);
  });

  await t.step("another architecture", async () => {
    const p = join(dir.path, "arch.bundle");
    await writeBundle(p, {
      root: src,
      files,
      version: "v0.2.0",
      architecture: "riscv64",
      privateKey: priv,
    });
    await refused(
      verifyBundle(p, { ...base, architecture: "x86_64" }),
      "architecture",
      /for "riscv64", this machine is "x86_64"/,
    );
  });

  await t.step("a downgrade without force", async () => {
    await refused(
      verifyBundle(good, { ...base, currentVersion: "v0.3.0" }),
      "downgrade",
      /v0.2.0 is older than the running v0.3.0/,
    );
    await verifyBundle(good, {
      ...base,
      currentVersion: "v0.3.0",
      force: true,
    });
  });

  await t.step("larger than the limit", async () => {
    const size = (await Deno.stat(good)).size;
    await refused(
      verifyBundle(good, { ...base, maxBytes: size - 1 }),
      "size",
      new RegExp(`${size} bytes, the limit is ${size - 1}`),
    );
  });

  await t.step("not a bundle", async () => {
    const p = join(dir.path, "junk.bundle");
    await Deno.writeTextFile(p, "hello world, not a bundle");
    await refused(
      verifyBundle(p, base),
      "format",
      /not a Bronze upgrade bundle/,
    );
  });
});

Deno.test("compareVersions() orders release tags", () => {
  assert.equal(compareVersions("v0.10.0", "v0.9.1"), 1);
  assert.equal(compareVersions("v0.1.0-dev", "v0.1.0"), -1);
  assert.equal(compareVersions("v0.1.0", "v0.1.0"), 0);
  assert.equal(compareVersions("v1.0.0", "v2.0.0"), -1);
  assert.throws(() => compareVersions("main", "v1.0.0"), /not a release tag/);
});
