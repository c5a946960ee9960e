import { ipFamily, isDnsName, parseCidr, parseEndpoint } from "./mod.ts";
import { assertEquals, assertThrows } from "../testing/mod.ts";

Deno.test("ipFamily() tells IPv4, IPv6 and junk apart", () => {
  const cases: [string, 4 | 6 | undefined][] = [
    ["10.5.0.2", 4],
    ["255.255.255.255", 4],
    ["256.1.1.1", undefined],
    ["01.2.3.4", undefined],
    ["1.2.3", undefined],
    ["::", 6],
    ["::1", 6],
    ["fd00::2", 6],
    ["2001:db8:0:0:0:0:0:1", 6],
    ["1:2:3:4:5:6:7:8:9", undefined],
    ["::ffff:10.0.0.1", 6],
    ["1::2::3", undefined],
    ["fe80::1%eth0", undefined],
    ["", undefined],
    ["cp1", undefined],
    ["12345::", undefined],
  ];
  for (const [s, want] of cases) assertEquals(ipFamily(s), want, s);
});

Deno.test("parseCidr() and parseEndpoint() explain what is wrong", () => {
  assertEquals(parseCidr("fd00::2/64"), {
    address: "fd00::2",
    prefix: 64,
    family: 6,
  });
  for (
    const [s, msg] of [
      ["10.0.0.1", 'invalid CIDR "10.0.0.1": missing "/prefix"'],
      ["10.0.0.1/33", 'invalid CIDR "10.0.0.1/33": prefix length out of range'],
      ["10.0.0.1/08", 'invalid CIDR "10.0.0.1/08": bad prefix length'],
      ["x/8", 'invalid CIDR "x/8": bad IP address'],
    ]
  ) {
    assertEquals((assertThrows(() => parseCidr(s)) as Error).message, msg);
  }
  assertEquals(parseEndpoint("https://10.5.0.2:6443"), {
    host: "10.5.0.2",
    port: 6443,
  });
  assertEquals(parseEndpoint("https://cp.example.org/"), {
    host: "cp.example.org",
  });
  assertEquals(parseEndpoint("[fd00::2]:50001"), {
    host: "fd00::2",
    port: 50001,
  });
  assertEquals(parseEndpoint("fd00::2"), { host: "fd00::2" });
  assertEquals(parseEndpoint("127.5.0.2"), { host: "127.5.0.2" });
  assertThrows(() => parseEndpoint("https://x:0"));
  assertThrows(() => parseEndpoint("https://x:70000"));
  assertThrows(() => parseEndpoint("a b"));
  assertEquals(isDnsName("a-b.example"), true);
  assertEquals(isDnsName("-a"), false);
});
