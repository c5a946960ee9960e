/**
 * The upgrade transaction on a process-mode node: a signed bundle of this
 * tree with another version tag, Version reporting it, rollback to the old
 * tag, a build whose apid never starts abandoned by itself, and unsigned,
 * tampered and wrong-architecture bundles refused with nothing written.
 */
import { join } from "node:path";
import { MachineServiceService as M } from "../lib/api/gen/machine/machine.ts";
import type { ApiClient } from "../cli/client/api_client.ts";
import {
  assert,
  assertEquals,
  assertIncludes,
  tempDir,
  waitUntil,
} from "../lib/testing/mod.ts";
import {
  BUILD_INFO_FILE,
  generateReleaseKey,
  importReleasePrivateKey,
  listReleaseFiles,
  writeBundle,
} from "../lib/upgrade/mod.ts";
import { startTestCluster } from "./cluster_harness.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

async function tag(api: ApiClient): Promise<string> {
  const r = await api.unary(M.version, { metadata: undefined }, {
    timeoutMs: 5000,
  });
  return r.messages[0]?.version?.tag ?? "";
}

async function releasesOf(stateDir: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(join(stateDir, "releases"))) {
      out.push(e.name);
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return out.sort();
}

Deno.test("process mode: upgrade, rollback, fallback and refusals", async (t) => {
  await using dir = await tempDir("bronze-upgrade-");
  const pair = await generateReleaseKey();
  const key = await importReleasePrivateKey(pair.privateKeyPem);
  const files = (await listReleaseFiles(ROOT)).filter((f) =>
    f !== BUILD_INFO_FILE
  );
  const bundle = async (
    name: string,
    version: string,
    extra: { architecture?: string; unsigned?: boolean; brokenApid?: boolean } =
      {},
  ): Promise<string> => {
    const out = join(dir.path, name);
    const overrides: Record<string, Uint8Array<ArrayBuffer>> = {
      [BUILD_INFO_FILE]: new TextEncoder().encode(
        JSON.stringify({ tag: version, sha: "test", built: "now" }),
      ),
    };
    if (extra.brokenApid) {
      overrides["services/apid/main.ts"] = new TextEncoder().encode(
        'console.error("broken build");\nDeno.exit(3);\n',
      );
    }
    await writeBundle(out, {
      root: ROOT,
      files,
      version,
      architecture: extra.architecture,
      privateKey: extra.unsigned ? undefined : key,
      overrides,
    });
    return out;
  };

  await using cluster = await startTestCluster({
    cidr: "127.21.0.0/24",
    nodes: 1,
    controlPlanes: 1,
    name: "upgrade",
    machinedArgs: ["--upgrade-trial", "25s"],
  });
  const node = cluster.record.nodes[0];
  using api = await cluster.client();
  const before = await tag(api);
  const pidBefore = node.pid;
  const v2 = await bundle("v2.bundle", "v2.0.0");

  await t.step("an untrusted key is refused, nothing written", async () => {
    const r = await cluster.osctl(["upgrade", "--image", v2]);
    assertEquals(r.code, 1, r.stdout + r.stderr);
    assertIncludes(r.stdout + r.stderr, "no release key is trusted");
    assertEquals(await releasesOf(node.stateDir), []);
  });

  await t.step("the config adds the release key (live)", async () => {
    const patch = `machine:\n  install:\n    trustedKeys:\n      - |\n${
      pair.publicKeyPem.trim().split("\n").map((l) => `        ${l}`).join(
        "\n",
      )
    }\n`;
    const r = await cluster.osctl([
      "patch",
      "machineconfig",
      "-p",
      patch,
      "--mode",
      "no-reboot",
    ]);
    assertEquals(r.code, 0, r.stdout + r.stderr);
  });

  await t.step(
    "unsigned, tampered and foreign bundles are refused",
    async () => {
      const unsigned = await bundle("u.bundle", "v2.0.0", { unsigned: true });
      const arch = await bundle("a.bundle", "v2.0.0", {
        architecture: "riscv64",
      });
      const bytes = await Deno.readFile(v2);
      bytes[bytes.length - 10] ^= 0x20;
      const tampered = join(dir.path, "t.bundle");
      await Deno.writeFile(tampered, bytes);
      for (
        const [path, why] of [
          [unsigned, "no signature"],
          [arch, 'bundle is for "riscv64"'],
          [tampered, "manifest does not match the bytes"],
        ]
      ) {
        const r = await cluster.osctl(["upgrade", "--image", path]);
        assertEquals(r.code, 1, r.stdout + r.stderr);
        assertIncludes(r.stdout + r.stderr, why);
      }
      assertEquals(await releasesOf(node.stateDir), []);
      assertEquals(await tag(api), before);
    },
  );

  await t.step("upgrade to v2.0.0: Version reports it, same pid", async () => {
    const r = await cluster.osctl([
      "upgrade",
      "--image",
      v2,
      "--wait",
      "--timeout",
      "3m",
    ]);
    assertEquals(r.code, 0, r.stdout + r.stderr);
    assertIncludes(r.stdout, "running v2.0.0");
    assertEquals(await tag(api), "v2.0.0");
    assert(
      (await Deno.readTextFile(`/proc/${pidBefore}/cmdline`)).includes(
        "releases",
      ),
      "machined runs from a release",
    );
    await waitUntil(
      async () => !(await releasesOf(node.stateDir)).includes("trial"),
      { timeoutMs: 30_000, what: "the trial committed" },
    );
  });

  await t.step("a downgrade without --force is refused", async () => {
    const old = await bundle("v1.bundle", "v1.0.0");
    const r = await cluster.osctl(["upgrade", "--image", old]);
    assertEquals(r.code, 1, r.stdout + r.stderr);
    assertIncludes(r.stdout + r.stderr, "older than the running v2.0.0");
  });

  await t.step("rollback returns to the old tag", async () => {
    const r = await cluster.osctl(["rollback"]);
    assertEquals(r.code, 0, r.stdout + r.stderr);
    await waitUntil(
      async () => (await tag(api).catch(() => "")) === before,
      { timeoutMs: 120_000, intervalMs: 500, what: `back on ${before}` },
    );
  });

  await t.step(
    "a build whose apid never starts falls back by itself",
    async () => {
      const broken = await bundle("b.bundle", "v3.0.0", { brokenApid: true });
      const r = await cluster.osctl([
        "upgrade",
        "--image",
        broken,
        "--wait",
        "--timeout",
        "3m",
      ]);
      assertEquals(r.code, 1, r.stdout + r.stderr);
      await waitUntil(
        async () => (await tag(api).catch(() => "")) === before,
        {
          timeoutMs: 120_000,
          intervalMs: 500,
          what: `fallen back to ${before}`,
        },
      );
      assert(!(await releasesOf(node.stateDir)).includes("trial"));
    },
  );
});
