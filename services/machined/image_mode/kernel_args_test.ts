import {
  assertEquals,
  assertIncludes,
  assertThrows,
} from "../../../lib/testing/mod.ts";
import {
  kernelArg,
  kernelWords,
  parseConfigArg,
  parseIpArg,
} from "./kernel_args.ts";

const CMDLINE =
  "console=ttyS0 rdinit=/usr/bin/deno ip=1.2.3.4::1.2.3.1:255.255.255.0 bronze.config=fw_cfg -- run /init.js bronze.config=none";

Deno.test("kernelArg() reads the kernel's words, not the init's", () => {
  assertEquals(kernelWords(CMDLINE).at(-1), "bronze.config=fw_cfg");
  assertEquals(kernelArg(CMDLINE, "bronze.config"), "fw_cfg");
  assertEquals(kernelArg("a=1 a=2", "a"), "2");
  assertEquals(kernelArg(CMDLINE, "missing"), undefined);
});

Deno.test("parseConfigArg() takes a source name or base64 YAML", async (t) => {
  await t.step("names", () => {
    assertEquals(parseConfigArg("none"), { kind: "none" });
    assertEquals(parseConfigArg("fw_cfg"), { kind: "fw_cfg" });
  });
  await t.step("base64, standard and URL alphabet, padding optional", () => {
    const yaml = "version: v1alpha1\n# ~~??\n";
    const std = btoa(yaml);
    const url = std.replaceAll("+", "-").replaceAll("/", "_").replace(
      /=+$/,
      "",
    );
    for (const v of [std, url]) {
      const got = parseConfigArg(v);
      assertEquals(got.kind, "inline");
      if (got.kind === "inline") {
        assertEquals(new TextDecoder().decode(got.data), yaml);
      }
    }
  });
  await t.step("anything else names the value", () => {
    const err = assertThrows(() => parseConfigArg("http://x/c.yaml"));
    assertIncludes(String(err), "http://x/c.yaml");
  });
});

Deno.test("parseIpArg() reads the kernel's static ip= form", () => {
  assertEquals(parseIpArg("10.5.0.2::10.5.0.1:255.255.255.0:n1:eth1:off"), {
    cidr: "10.5.0.2/24",
    gateway: "10.5.0.1",
    hostname: "n1",
    device: "eth1",
  });
  assertEquals(parseIpArg("10.0.0.9:::255.255.0.0::"), {
    cidr: "10.0.0.9/16",
    gateway: undefined,
    hostname: undefined,
    device: "eth0",
  });
  assertEquals(parseIpArg("dhcp"), undefined);
  assertIncludes(
    String(assertThrows(() => parseIpArg("10.0.0.9:::255.0.255.0::"))),
    "netmask",
  );
});
