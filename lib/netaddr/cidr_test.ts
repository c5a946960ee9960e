import {
  cidrContains,
  CidrSyntaxError,
  formatCidr,
  formatIp,
  networkOf,
  parseCidr,
  parseIp,
} from "./mod.ts";
import {
  assert,
  assertEquals,
  assertIncludes,
  assertThrows,
} from "../testing/mod.ts";

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
      ["0x7f.1/8", "bad address"],
      ["10.0.0.1/8/8", "not a number"],
      ["10.0.0.1/+8", "not a number"],
      ["/8", "bad address"],
    ]
  ) {
    await t.step(bad, () => {
      const err = assertThrows(() => parseCidr(bad));
      assertIncludes(String(err), `"${bad}"`);
      assertIncludes(String(err), why);
      assert(err instanceof CidrSyntaxError, String(err));
      assertEquals(err.text, bad);
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

Deno.test("CidrSyntaxError names its problem", () => {
  const problems = [
    ["10.0.0.1", "missing-prefix"],
    ["x/8", "bad-address"],
    ["10.0.0.1/08", "bad-prefix"],
    ["10.0.0.1/33", "prefix-out-of-range"],
  ] as const;
  for (const [text, problem] of problems) {
    const err = assertThrows(() => parseCidr(text));
    assert(err instanceof CidrSyntaxError, String(err));
    assertEquals(err.name, "CidrSyntaxError");
    assertEquals(err.problem, problem, text);
  }
  assertEquals(formatCidr(parseCidr("fd00::0:2/64")), "fd00::2/64");
  assertEquals(parseCidr("fd00::2/64"), {
    family: "inet6",
    bytes: parseIp("fd00::2").bytes,
    prefix: 64,
  });
});
