import {
  cidrContains,
  formatIp,
  networkOf,
  parseCidr,
  parseIp,
} from "./ip_address.ts";
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
    ]
  ) {
    await t.step(JSON.stringify(bad), () => {
      const err = assertThrows(() => parseIp(bad));
      assertIncludes(String(err), JSON.stringify(bad));
    });
  }
});

Deno.test("parseCidr() checks the prefix and quotes the value", async (t) => {
  await t.step("valid", () => {
    const c = parseCidr("10.1.2.3/24");
    assertEquals(c.family, "inet");
    assertEquals(c.prefix, 24);
    assertEquals(parseCidr("fd00::1/64").prefix, 64);
    assertEquals(parseCidr("::/0").prefix, 0);
  });
  for (
    const [bad, why] of [
      ["10.0.0.1/33", "out of range"],
      ["fd00::/129", "out of range"],
      ["10.0.0.1", 'missing "/prefix"'],
      ["10.0.0.1/", "not a number"],
      ["10.0.0.1/024", "not a number"],
      ["10.0.0.300/8", "bad address"],
    ]
  ) {
    await t.step(bad, () => {
      const err = assertThrows(() => parseCidr(bad));
      assertIncludes(String(err), `"${bad}"`);
      assertIncludes(String(err), why);
    });
  }
});

Deno.test("networkOf() and cidrContains() mask host bits", () => {
  assertEquals(
    formatIp(networkOf(parseCidr("10.1.2.3/20")).bytes),
    "10.1.0.0",
  );
  assertEquals(
    formatIp(networkOf(parseCidr("fd00::abcd/120")).bytes),
    "fd00::ab00",
  );
  assert(cidrContains(parseCidr("10.1.0.0/16"), parseIp("10.1.255.1")));
  assert(!cidrContains(parseCidr("10.1.0.0/16"), parseIp("10.2.0.1")));
  assert(!cidrContains(parseCidr("10.1.0.0/16"), parseIp("::1")));
});
