import {
  assertEquals,
  assertIncludes,
  assertThrows,
} from "../../lib/testing/mod.ts";
import { parseApidArgs } from "./flags.ts";

const NODE = ["--address", "127.5.0.2", "--hostname", "cp-1", "--certs", "/c"];

Deno.test("parseApidArgs() takes apid's flags", () => {
  const o = parseApidArgs([
    ...NODE,
    "--control-plane",
    "--port=50010",
    "--leg-timeout-ms",
    "2500",
  ]);
  assertEquals(o.address, "127.5.0.2");
  assertEquals(o.hostname, "cp-1");
  assertEquals(o.certsDir, "/c");
  assertEquals(o.controlPlane, true);
  assertEquals(o.port, 50010);
  assertEquals(o.legTimeoutMs, 2500);
  assertEquals(o.idleTimeoutMs, undefined);
});

Deno.test("parseApidArgs() names the bad flag and value", async (t) => {
  const cases: [string[], string][] = [
    [NODE.slice(2), "--address is required"],
    [[...NODE.slice(0, 4)], "--certs is required"],
    [["--address", "10.0.0.300", ...NODE.slice(2)], '"10.0.0.300"'],
    [[...NODE, "--port", "70000"], '--port "70000" is not a whole number'],
    [[...NODE, "--hostname", "-x"], '--hostname "-x"'],
    [[...NODE, "--nope"], "--nope"],
  ];
  for (const [args, want] of cases) {
    await t.step(want, () => {
      assertIncludes(String(assertThrows(() => parseApidArgs(args))), want);
    });
  }
});

Deno.test("parseApidArgs() in maintenance form takes only the node and port", () => {
  const o = parseApidArgs([...NODE, "--port", "50000"], { maintenance: true });
  assertEquals(o.port, 50000);
  for (const extra of [["--control-plane"], ["--leg-timeout-ms", "100"]]) {
    assertIncludes(
      String(
        assertThrows(() =>
          parseApidArgs([...NODE, ...extra], { maintenance: true })
        ),
      ),
      `${extra[0]} is not taken in maintenance mode`,
    );
  }
});
