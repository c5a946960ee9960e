import { assertEquals, assertThrows } from "../../lib/testing/mod.ts";
import { nodeAddresses, parseIpv4Cidr } from "./addresses.ts";

Deno.test("nodeAddresses() starts at .2 of a loopback CIDR", () => {
  assertEquals(nodeAddresses("127.5.0.0/24", 3), [
    "127.5.0.2",
    "127.5.0.3",
    "127.5.0.4",
  ]);
  assertEquals(nodeAddresses("127.5.0.77/24", 1), ["127.5.0.2"]);
});

Deno.test("nodeAddresses() and parseIpv4Cidr() reject bad input with the value", async (t) => {
  const cases: [() => unknown, string][] = [
    [
      () => parseIpv4Cidr("10.0.0.1/33"),
      'Cannot parse CIDR "10.0.0.1/33": prefix length out of range',
    ],
    [
      () => parseIpv4Cidr("10.0.0.256/8"),
      'Cannot parse IPv4 address "10.0.0.256"',
    ],
    [
      () => parseIpv4Cidr("nonsense"),
      'Cannot parse CIDR "nonsense": expected address/prefix',
    ],
    [
      () => parseIpv4Cidr("0x7f.0.0.1/8"),
      'Cannot parse IPv4 address "0x7f.0.0.1"',
    ],
    [() => parseIpv4Cidr("fd00::/64"), 'Cannot parse IPv4 address "fd00::"'],
    [
      () => nodeAddresses("10.5.0.0/24", 3),
      'Cannot use CIDR "10.5.0.0/24": process-mode nodes need a loopback range inside 127.0.0.0/8',
    ],
    [
      () => nodeAddresses("127.5.0.0/30", 2),
      'Cannot fit 2 nodes in "127.5.0.0/30": it has 1 usable addresses',
    ],
    [
      () => nodeAddresses("127.5.0.0/24", 0),
      "Cannot make 0 nodes: choose 1 to 64",
    ],
  ];
  for (const [fn, message] of cases) {
    await t.step(message, () => {
      const err = assertThrows(fn) as Error;
      assertEquals(err.message, message);
    });
  }
});
