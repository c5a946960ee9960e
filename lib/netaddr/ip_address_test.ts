import { formatIp, ipFamily, isIpv4, isIpv6, parseIp } from "./mod.ts";
import {
  assert,
  assertEquals,
  assertIncludes,
  assertThrows,
} from "../testing/mod.ts";

Deno.test("parseIp() and formatIp() round-trip IPv4 and IPv6", async (t) => {
  const cases: Array<[string, string]> = [
    ["10.0.0.1", "10.0.0.1"],
    ["0.0.0.0", "0.0.0.0"],
    ["::", "::"],
    ["::1", "::1"],
    ["fe80::fc:ff:fe00:1", "fe80::fc:ff:fe00:1"],
    ["2001:DB8:0:0:0:0:0:1", "2001:db8::1"],
    ["2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1"],
    ["1:0:0:2:0:0:0:3", "1:0:0:2::3"],
    ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
    ["::ffff:10.1.2.3", "::ffff:10.1.2.3"],
    ["1:0:2:3:4:5:6:7", "1:0:2:3:4:5:6:7"],
  ];
  for (const [input, want] of cases) {
    await t.step(input, () => {
      assertEquals(formatIp(parseIp(input).bytes), want);
    });
  }
});

Deno.test("parseIp() rejects what is not an address", async (t) => {
  for (
    const bad of [
      "",
      "10.0.0",
      "10.0.0.256",
      "10.0.0.01",
      "1.2.3.4.5",
      ":::",
      "1::2::3",
      "12345::",
      "1:2:3:4:5:6:7:8:9",
      "1:2:3:4:5:6:7::8",
      "eth0",
      "10.0.0.1 ",
      " 10.0.0.1",
      "0x7f.0.0.1",
      "0x7f.1",
      "127.1",
      "2130706433",
      "300.1.1.1",
      "010.0.0.1",
      "0177.0.0.1",
      "1.2.3.4.",
      "+1.2.3.4",
      "1e2.0.0.1",
      "fe80::1%eth0",
      "[::1]",
      "::ffff:01.2.3.4",
      "1.2.3.4::",
      "1:2:3:4:5:6:7:1.2.3.4",
      "00000::",
      "::g",
    ]
  ) {
    await t.step(JSON.stringify(bad), () => {
      const err = assertThrows(() => parseIp(bad));
      assertIncludes(String(err), JSON.stringify(bad));
    });
  }
});

Deno.test("ipFamily() tells IPv4, IPv6 and junk apart", () => {
  const cases: [string, "inet" | "inet6" | undefined][] = [
    ["10.5.0.2", "inet"],
    ["255.255.255.255", "inet"],
    ["256.1.1.1", undefined],
    ["01.2.3.4", undefined],
    ["1.2.3", undefined],
    ["::", "inet6"],
    ["::1", "inet6"],
    ["fd00::2", "inet6"],
    ["2001:db8:0:0:0:0:0:1", "inet6"],
    ["1:2:3:4:5:6:7:8:9", undefined],
    ["::ffff:10.0.0.1", "inet6"],
    ["1::2::3", undefined],
    ["fe80::1%eth0", undefined],
    ["", undefined],
    ["cp1", undefined],
    ["12345::", undefined],
  ];
  for (const [s, want] of cases) assertEquals(ipFamily(s), want, s);
  assert(isIpv4("10.5.0.2") && !isIpv4("fd00::2") && !isIpv4("0x7f.1"));
  assert(isIpv6("fd00::2") && !isIpv6("10.5.0.2") && !isIpv6("::1%lo"));
  assertEquals(ipFamily(42 as unknown as string), undefined);
});
