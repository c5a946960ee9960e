import {
  generateMachineConfigs,
  generateSecretsBundle,
  stringifyMachineConfig,
} from "../../../lib/config/mod.ts";
import {
  assert,
  assertEquals,
  assertIncludes,
  tempDir,
} from "../../../lib/testing/mod.ts";
import {
  acquireConfig,
  type ConfigSources,
  saveStateConfig,
  STATE_CONFIG_FILE,
} from "./config_source.ts";

const secrets = await generateSecretsBundle();
const good = (name: string) => {
  const { worker } = generateMachineConfigs(name, "10.0.2.15", { secrets });
  return new TextEncoder().encode(stringifyMachineConfig(worker));
};
const bad = new TextEncoder().encode("version: v1alpha1\nmachine: 3\n");

function sources(o: {
  state?: Uint8Array;
  cmdline?: string;
  fwCfg?: Uint8Array;
}): ConfigSources & { fwCfgReads: number } {
  const s = {
    fwCfgReads: 0,
    stateFile: () => Promise.resolve(o.state),
    cmdline: () => Promise.resolve(o.cmdline ?? "console=ttyS0"),
    fwCfg: () => {
      s.fwCfgReads++;
      return Promise.resolve(o.fwCfg);
    },
  };
  return s;
}

Deno.test("acquireConfig() looks in order: state, cmdline, fw_cfg", async (t) => {
  const warnings: string[] = [];
  const warn = (m: string) => warnings.push(m);
  await t.step("the state partition wins and is not rewritten", async () => {
    const f = await acquireConfig(
      sources({ state: good("a"), fwCfg: good("b") }),
      { warn },
    );
    assertEquals(f?.config.cluster.name, "a");
    assertEquals(f?.persist, false);
  });
  await t.step(
    "an inline cmdline config beats the drive and is persisted",
    async () => {
      const inline = btoa(new TextDecoder().decode(good("c")));
      const f = await acquireConfig(
        sources({ cmdline: `x bronze.config=${inline}`, fwCfg: good("b") }),
        { warn },
      );
      assertEquals(f?.config.cluster.name, "c");
      assertEquals(f?.source, "the kernel command line");
      assertEquals(f?.persist, true);
    },
  );
  await t.step("fw_cfg, named or probed", async () => {
    for (const cmdline of ["bronze.config=fw_cfg", "quiet"]) {
      const f = await acquireConfig(sources({ cmdline, fwCfg: good("d") }), {
        warn,
      });
      assertEquals(f?.config.cluster.name, "d");
      assertIncludes(f!.source, "fw_cfg");
    }
  });
  await t.step("bronze.config=none skips the drive: maintenance", async () => {
    const s = sources({ cmdline: "bronze.config=none", fwCfg: good("e") });
    assertEquals(await acquireConfig(s, { warn }), undefined);
    assertEquals(s.fwCfgReads, 0);
  });
  await t.step(
    "an invalid config is reported and the next source tried",
    async () => {
      warnings.length = 0;
      const f = await acquireConfig(
        sources({ state: bad, fwCfg: good("f") }),
        { warn },
      );
      assertEquals(f?.config.cluster.name, "f");
      assertEquals(warnings.length, 1);
      assertIncludes(warnings[0], "the state partition");
    },
  );
});

Deno.test("saveStateConfig() writes 0600 atomically and keeps no file open", async () => {
  await using dir = await tempDir();
  const before = [...Deno.readDirSync("/proc/self/fd")].length;
  await saveStateConfig(dir.path, "a: 1\n");
  await saveStateConfig(dir.path, "a: 2\n");
  const path = `${dir.path}/${STATE_CONFIG_FILE}`;
  assertEquals(await Deno.readTextFile(path), "a: 2\n");
  assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
  assertEquals([...Deno.readDirSync(dir.path)].map((e) => e.name), [
    STATE_CONFIG_FILE,
  ]);
  const open = [...Deno.readDirSync("/proc/self/fd")].filter((e) => {
    try {
      return Deno.readLinkSync(`/proc/self/fd/${e.name}`).startsWith(dir.path);
    } catch {
      return false;
    }
  });
  assertEquals(open.length, 0);
  assert([...Deno.readDirSync("/proc/self/fd")].length <= before + 1);
});
