import { aliasTable, matchModules } from "./modules_alias.ts";
import { scanModaliases } from "./coldplug.ts";
import { libcSysfs } from "./sysfs.ts";
import { Libc } from "../../lib/ffi/mod.ts";
import { assert, assertEquals } from "../../lib/testing/mod.ts";

const ALIAS_FIXTURE = `# Aliases extracted from modules themselves.
alias virtio:d00000002v* virtio_blk
alias virtio:d00000001v* virtio_net
alias pci:v00001AF4d*sv*sd*bc*sc*i* virtio_pci
alias pci:v*d*sv*sd*bc01sc08i02* nvme
alias cpu:type:x86,ven*fam*mod*:feature:*0081* crc32c-intel
alias acpi*:PNP0501:* 8250_pnp
alias *:rtc_cmos platform-rtc
this line is broken
alias only-two-fields
`;

Deno.test("aliasTable() indexes aliases and skips bad lines", () => {
  const t = aliasTable(ALIAS_FIXTURE);
  assertEquals(t.count, 7);
  assertEquals(t.skippedLines, [9, 10]);
  assertEquals(t.byBus.get("virtio")?.length, 2);
  assertEquals(t.wild.map((a) => a.module), ["8250_pnp", "platform_rtc"]);
});

Deno.test("matchModules() matches fixture aliases to modaliases", () => {
  const t = aliasTable(ALIAS_FIXTURE);
  assertEquals(
    matchModules(t, [
      "virtio:d00000002v00001AF4",
      "pci:v00001AF4d00001042sv00001AF4sd00001042bc01sc80i00",
      "cpu:type:x86,ven0002fam001Amod0002:feature:,0000,0081",
      "acpi:PNP0501:",
      "platform:rtc_cmos",
      "usb:v1D6Bp0002d0606dc09dsc00dp01ic09isc00ip00in00",
    ]),
    ["8250_pnp", "crc32c_intel", "platform_rtc", "virtio_blk", "virtio_pci"],
  );
});

Deno.test("matchModules() against this machine's devices", () => {
  using libc = Libc.open();
  const found = scanModaliases(libcSysfs(libc));
  assert(found.length > 0, "no modalias under /sys/devices");
  const t = aliasTable(ALIAS_FIXTURE);
  const mods = matchModules(t, found);
  // Whatever this machine has, virtio devices map to their drivers.
  if (found.some((m) => m.startsWith("virtio:d00000002v"))) {
    assert(mods.includes("virtio_blk"));
  }
});

Deno.test("matchModules() with the real modules.alias, when present", async (t) => {
  const dir = `/lib/modules/${Deno.osRelease()}`;
  let text: string;
  try {
    text = await Deno.readTextFile(`${dir}/modules.alias`);
  } catch {
    console.error(`skipped: no ${dir}/modules.alias on this machine`);
    return;
  }
  await t.step("parses and matches", () => {
    const table = aliasTable(text);
    assert(table.count > 100, `only ${table.count} aliases`);
    using libc = Libc.open();
    const mods = matchModules(table, scanModaliases(libcSysfs(libc)));
    for (const m of mods) assert(/^[a-z0-9_]+$/.test(m), m);
  });
});
