/** machined refuses a bad command line or machine config before starting anything. */
import { stringifyMachineConfig } from "../lib/config/mod.ts";
import {
  assert,
  assertEquals,
  assertIncludes,
  tempDir,
} from "../lib/testing/mod.ts";
import {
  MACHINED_PERMISSIONS,
  processesMentioning,
  testMachineConfig,
} from "./machined_harness.ts";
import { runDaemonToExit } from "./daemon_process.ts";

const MAIN = new URL("../services/machined/main.ts", import.meta.url).pathname;

function runMachined(
  args: string[],
): Promise<{ code: number; stderr: string }> {
  return runDaemonToExit(MAIN, { denoFlags: MACHINED_PERMISSIONS, args });
}

Deno.test("machined exits 2 on a bad machine config, naming the field, with nothing started", async (t) => {
  await using dir = await tempDir();
  const marker = `${dir.path}/nats-started`;
  const fakeNats = `${dir.path}/fake-nats-server`;
  await Deno.writeTextFile(
    fakeNats,
    `#!/bin/sh\ntouch ${marker}\nexec sleep 60\n`,
    {
      mode: 0o755,
    },
  );
  const state = `${dir.path}/state`;
  const base = [
    "--state",
    state,
    "--address",
    "127.5.100.9",
    "--nats-server",
    fakeNats,
  ];

  await t.step("a bad field is named with its path; exit 2", async () => {
    const { config } = await testMachineConfig();
    const bad = stringifyMachineConfig(config)
      .replace("type: controlplane", "type: bogus")
      .replace(/token: .*/, "token: not-a-token");
    const path = `${dir.path}/bad.yaml`;
    await Deno.writeTextFile(path, bad);
    const { code, stderr } = await runMachined([...base, "--config", path]);
    assertEquals(code, 2, stderr);
    assertIncludes(stderr, ".machine.type");
    assertIncludes(stderr, ".machine.token");
    assertIncludes(stderr, path);
    assert(!stderr.includes("at file://"), "no stack trace");
  });

  await t.step("a missing file is a clear error; exit 2", async () => {
    const { code, stderr } = await runMachined([
      ...base,
      "--config",
      `${dir.path}/nope.yaml`,
    ]);
    assertEquals(code, 2);
    assertIncludes(
      stderr,
      `Cannot read machine config "${dir.path}/nope.yaml"`,
    );
  });

  await t.step("a bad command line prints the usage; exit 2", async () => {
    const r1 = await runMachined(["--state", state, "--config", "x"]);
    assertEquals(r1.code, 2);
    assertIncludes(r1.stderr, "--address is required");
    assertIncludes(r1.stderr, "usage: machined");
    const r2 = await runMachined([...base, "--config", "x", "--mode", "image"]);
    assertEquals(r2.code, 2);
    assertIncludes(r2.stderr, '--mode "image"');
  });

  await t.step(
    "image mode anywhere but PID 1 refuses before touching anything",
    async () => {
      // As root on a host its shutdown path would power the host off.
      const r = await runMachined(["--mode", "image"]);
      assertEquals(r.code, 2);
      assertIncludes(r.stderr, "image mode runs only as PID 1");
    },
  );

  await t.step("nothing was started or written", async () => {
    await Deno.stat(marker).then(
      () => assert(false, "nats-server was started"),
      () => {},
    );
    await Deno.stat(state).then(
      () => assert(false, "the state dir was written"),
      () => {},
    );
    assertEquals(await processesMentioning(state, fakeNats), []);
  });
});
