import { dispatch } from "../cli/dispatch.ts";
import { COMMANDS } from "../cli/commands/mod.ts";
import { loadMachineConfig } from "../lib/config/mod.ts";
import {
  assert,
  assertEquals,
  assertIncludes,
  tempDir,
} from "../lib/testing/mod.ts";

async function osctl(
  ...argv: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await dispatch(COMMANDS, argv, {
    io: {
      stdout: (s) => void (stdout += s),
      stderr: (s) => void (stderr += s),
    },
    signal: new AbortController().signal,
  });
  return { code, stdout, stderr };
}

Deno.test("osctl gen config --config-patch and machineconfig patch", async (t) => {
  await using dir = await tempDir();
  const out = `${dir.path}/cluster`;
  const patchFile = `${dir.path}/patch.yaml`;
  await Deno.writeTextFile(
    patchFile,
    "machine:\n  network:\n    nameservers: [9.9.9.9]\n",
  );

  await t.step("gen config applies common and per-type patches", async () => {
    const r = await osctl(
      "gen",
      "config",
      "demo",
      "https://127.17.0.2:6443",
      "-o",
      out,
      "--config-patch",
      `@${patchFile}`,
      "--config-patch-control-plane",
      '[{"op":"add","path":"/machine/network/hostname","value":"cp-one"}]',
      "--config-patch-worker",
      "machine:\n  install:\n    disk: /dev/vdb\n",
    );
    assertEquals(r.code, 0, r.stderr);
    const cp = await loadMachineConfig(`${out}/controlplane.yaml`);
    const w = await loadMachineConfig(`${out}/worker.yaml`);
    assertEquals(cp.machine.network?.hostname, "cp-one");
    assertEquals(cp.machine.network?.nameservers, ["9.9.9.9"]);
    assertEquals(w.machine.network?.nameservers, ["9.9.9.9"]);
    assertEquals(w.machine.install?.disk, "/dev/vdb");
    assertEquals(cp.machine.install?.disk === "/dev/vdb", false);
  });

  await t.step(
    "gen config refuses a patch that breaks the config",
    async () => {
      const r = await osctl(
        "gen",
        "config",
        "demo2",
        "https://127.17.0.2:6443",
        "-o",
        `${dir.path}/bad`,
        "--config-patch",
        '[{"op":"replace","path":"/machine/type","value":"boss"}]',
      );
      assertEquals(r.code, 1);
      assertIncludes(r.stderr, "(.machine.type)");
    },
  );

  await t.step("machineconfig patch writes the patched file", async () => {
    const target = `${dir.path}/w2.yaml`;
    const r = await osctl(
      "machineconfig",
      "patch",
      `${out}/worker.yaml`,
      "-p",
      "machine:\n  network:\n    hostname: w2\n",
      // A value that starts with "-" needs the --flag=value form.
      "--patch=- op: remove\n  path: /machine/install\n",
      "-o",
      target,
    );
    assertEquals(r.code, 0, r.stderr);
    const w = await loadMachineConfig(target);
    assertEquals(w.machine.network?.hostname, "w2");
    assertEquals(w.machine.install, undefined);
    assertEquals((await Deno.stat(target)).mode! & 0o777, 0o600);
  });

  await t.step("machineconfig patch prints to stdout without -o", async () => {
    const r = await osctl(
      "machineconfig",
      "patch",
      `${out}/worker.yaml`,
      "-p",
      '[{"op":"replace","path":"/cluster/name","value":"other"}]',
    );
    assertEquals(r.code, 0, r.stderr);
    assertIncludes(r.stdout, "name: other");
  });

  await t.step("an invalid result is refused with its paths", async () => {
    const r = await osctl(
      "machineconfig",
      "patch",
      `${out}/worker.yaml`,
      "-p",
      "machine:\n  certSANs: [not a san]\n  bogus: 1\n",
    );
    assertEquals(r.code, 1);
    assertIncludes(r.stderr, "(.machine.bogus)");
    assertIncludes(r.stderr, ".machine.certSANs[");
  });

  await t.step("a patch that does not apply says where", async () => {
    const r = await osctl(
      "machineconfig",
      "patch",
      `${out}/worker.yaml`,
      "-p",
      '[{"op":"remove","path":"/machine/nope"}]',
    );
    assertEquals(r.code, 1);
    assertIncludes(r.stderr, 'operation 0 (remove "/machine/nope")');
    assert(!r.stdout.includes("machine:"));
  });
});
