import { fnmatch } from "./fnmatch.ts";
import { assertEquals } from "../../lib/testing/mod.ts";

Deno.test("fnmatch() matches like fnmatch(3) without flags", async (t) => {
  const cases: Array<[string, string, boolean]> = [
    ["virtio:d00000002v*", "virtio:d00000002v00001AF4", true],
    ["virtio:d00000001v*", "virtio:d00000002v00001AF4", false],
    [
      "pci:v00001AF4d00001042sv*sd*bc*sc*i*",
      "pci:v00001AF4d00001042sv00001AF4sd00001042bc01sc80i00",
      true,
    ],
    [
      "pci:v*d*sv*sd*bc01sc08i02*",
      "pci:v00001AF4d00001042sv00001AF4sd00001042bc01sc80i00",
      false,
    ],
    [
      "cpu:type:x86,ven*fam*mod*:feature:*0081*",
      "cpu:type:x86,ven0002fam001Amod0002:feature:,0000,0080,0081,0089",
      true,
    ],
    [
      "cpu:type:x86,ven*fam*mod*:feature:*0082*",
      "cpu:type:x86,ven0002fam001Amod0002:feature:,0000,0080,0081,0089",
      false,
    ],
    ["acpi*:PNP0501:*", "acpi:PNP0501:", true],
    ["a?c", "abc", true],
    ["a?c", "ac", false],
    ["[abc]x", "bx", true],
    ["[!abc]x", "bx", false],
    ["[^abc]x", "dx", true],
    ["[a-f]1", "e1", true],
    ["[a-f]1", "g1", false],
    ["[]]x", "]x", true],
    ["[a-]x", "-x", true],
    ["a\\*b", "a*b", true],
    ["a\\*b", "axb", false],
    ["[unclosed", "[unclosed", true],
    ["*", "", true],
    ["", "", true],
    ["", "a", false],
    ["**a**", "bab", true],
    ["*a*b*c*", "xxaxxbxxc", true],
    ["*a*b*c*", "xxaxxcxxb", false],
  ];
  for (const [pattern, text, want] of cases) {
    await t.step(`${JSON.stringify(pattern)} ~ ${JSON.stringify(text)}`, () => {
      assertEquals(fnmatch(pattern, text), want);
    });
  }
});

Deno.test("fnmatch() stays fast on pathological patterns", () => {
  const t0 = performance.now();
  const text = "a".repeat(2000);
  assertEquals(fnmatch("*a*a*a*a*a*a*a*b", text), false);
  // Generous bound: linear-ish backtracking, not exponential.
  assertEquals(performance.now() - t0 < 5000, true);
});
