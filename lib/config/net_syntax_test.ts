import { parseCidr } from "../netaddr/mod.ts";
import { cidrMessage, parseEndpoint } from "./net_syntax.ts";
import { assertEquals, assertThrows } from "../testing/mod.ts";

Deno.test("cidrMessage() and parseEndpoint() explain what is wrong", () => {
  for (
    const [s, msg] of [
      ["10.0.0.1", 'invalid CIDR "10.0.0.1": missing "/prefix"'],
      ["10.0.0.1/33", 'invalid CIDR "10.0.0.1/33": prefix length out of range'],
      ["10.0.0.1/08", 'invalid CIDR "10.0.0.1/08": bad prefix length'],
      ["x/8", 'invalid CIDR "x/8": bad IP address'],
    ]
  ) {
    assertEquals(cidrMessage(assertThrows(() => parseCidr(s))), msg);
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
  assertThrows(
    () => parseEndpoint("https://x:0"),
    Error,
    'invalid endpoint "https://x:0": bad port "0"',
  );
  assertThrows(
    () => parseEndpoint("https://x:70000"),
    Error,
    'bad port "70000"',
  );
  assertThrows(
    () => parseEndpoint("a b"),
    Error,
    'invalid endpoint "a b": bad host "a b"',
  );
  assertThrows(
    () => parseEndpoint("https://0x7f.1:50001"),
    Error,
    'bad host "0x7f.1"',
  );
  assertThrows(() => parseEndpoint("127.1"), Error, 'bad host "127.1"');
});
