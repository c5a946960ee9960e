import { checkHostname, checkNodeFlags } from "./node_flags.ts";
import { assertEquals, assertIncludes, assertThrows } from "../testing/mod.ts";

Deno.test("checkNodeFlags() takes an IP address and an RFC 1123 hostname", async (t) => {
  await t.step("IPv4 and IPv6 addresses, dotted hostnames", () => {
    assertEquals(
      checkNodeFlags({ address: "127.5.0.2", hostname: "cp-1" }, []),
      { address: "127.5.0.2", hostname: "cp-1" },
    );
    assertEquals(
      checkNodeFlags({ address: "fd00::2", hostname: "cp-1.cluster.local" }, [])
        .address,
      "fd00::2",
    );
  });
  for (
    const [values, positionals, want] of [
      [{ address: "127.0.0.1", hostname: "n" }, ["x"], 'argument "x"'],
      [{ hostname: "n" }, [], "--address is required"],
      [
        { address: "10.0.0.300", hostname: "n" },
        [],
        '"10.0.0.300" is not an IP',
      ],
      [{ address: "127.0.0.1" }, [], "--hostname is required"],
      [
        { address: "127.0.0.1", hostname: "a_b" },
        [],
        '"a_b" is not a hostname',
      ],
    ] as const
  ) {
    await t.step(want, () => {
      assertIncludes(
        String(assertThrows(() => checkNodeFlags(values, positionals))),
        want,
      );
    });
  }
  await t.step("checkHostname() names the flag it checks", () => {
    assertIncludes(
      String(assertThrows(() => checkHostname("-x", "--name"))),
      '--name "-x" is not a hostname (RFC 1123 labels)',
    );
  });
});
