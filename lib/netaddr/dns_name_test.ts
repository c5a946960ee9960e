import { isDnsName } from "./mod.ts";
import { assertEquals } from "../testing/mod.ts";

Deno.test("isDnsName() takes RFC 1123 names and never an address's text", () => {
  const cases: [string, boolean][] = [
    ["a-b.example", true],
    ["cp1", true],
    ["node-1.cluster.local", true],
    ["1.example", true],
    ["x" + "y".repeat(62), true],
    ["-a", false],
    ["a-", false],
    ["", false],
    ["a..b", false],
    ["a.", false],
    ["a b", false],
    ["x".repeat(64), false],
    ["10.5.0.2", false],
    ["127.1", false],
    ["2130706433", false],
    ["0x7f.1", false],
    ["a.0x7F", false],
    ["fd00::2", false],
  ];
  for (const [s, want] of cases) assertEquals(isDnsName(s), want, s);
});
