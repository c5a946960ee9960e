import {
  assertEquals,
  assertIncludes,
  assertThrows,
} from "../../lib/testing/mod.ts";
import { FlagError, parseMachinedFlags } from "./flags.ts";

Deno.test("parseMachinedFlags() validates machined's command line", async (t) => {
  const base = [
    "--state",
    "st",
    "--address",
    "127.5.0.2",
    "--config",
    "c.yaml",
  ];
  await t.step("resolves paths against cwd; mode defaults to process", () => {
    assertEquals(parseMachinedFlags(base, "/work"), {
      stateDir: "/work/st",
      address: "127.5.0.2",
      configPath: "/work/c.yaml",
      hostname: undefined,
      mode: "process",
      natsServer: undefined,
      certTtlMs: undefined,
      upgradeTrialMs: undefined,
    });
  });
  const bad = (args: string[], part: string) => {
    const err = assertThrows(() => parseMachinedFlags(args, "/w"));
    assertEquals((err as Error).name, "FlagError");
    assertIncludes((err as FlagError).message, part);
  };
  await t.step("--cert-ttl takes a duration of at least 2s", () => {
    assertEquals(
      parseMachinedFlags([...base, "--cert-ttl", "90s"]).certTtlMs,
      90000,
    );
    assertEquals(
      parseMachinedFlags([...base, "--cert-ttl", "24h"]).certTtlMs,
      86400000,
    );
    bad([...base, "--cert-ttl", "1s"], "at least 2s");
    bad([...base, "--cert-ttl", "10"], '"10"');
  });
  await t.step("required flags", () => {
    bad(["--address", "127.5.0.2", "--config", "c"], "--state is required");
  });
  await t.step("address must be IPv4", () => {
    bad(
      [...base.slice(0, 2), "--address", "10.0.0.300", "--config", "c"],
      '"10.0.0.300"',
    );
  });
  await t.step("hostname and mode are checked", () => {
    bad([...base, "--hostname", "bad_name"], '"bad_name"');
    bad([...base, "--mode", "image"], 'only "process"');
  });
  await t.step("unknown flags are refused", () => {
    bad([...base, "--bus-credentials-out", "x"], "bus-credentials-out");
  });
  await t.step("a state dir with a comma is refused (permission lists)", () => {
    bad(
      ["--state", "/a,b", "--address", "127.5.0.2", "--config", "c"],
      "comma",
    );
  });
});
