import {
  matchModules,
  moduleLoadOrder,
  moduleNameOfPath,
  parseModulesAlias,
  parseModulesDep,
} from "./modules_alias.ts";
import { scanModaliases } from "./coldplug.ts";
import { libcSysfs } from "./sysfs.ts";
import { Libc } from "../../lib/ffi/mod.ts";
import {
  assert,
  assertEquals,
  assertIncludes,
  assertThrows,
} from "../../lib/testing/mod.ts";

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

Deno.test("parseModulesAlias() indexes aliases and skips bad lines", () => {
  const t = parseModulesAlias(ALIAS_FIXTURE);
  assertEquals(t.count, 7);
  assertEquals(t.skippedLines, [9, 10]);
  assertEquals(t.byBus.get("virtio")?.length, 2);
  assertEquals(t.wild.map((a) => a.module), ["8250_pnp", "platform_rtc"]);
});

Deno.test("matchModules() matches fixture aliases to modaliases", () => {
  const t = parseModulesAlias(ALIAS_FIXTURE);
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
  const t = parseModulesAlias(ALIAS_FIXTURE);
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
    const table = parseModulesAlias(text);
    assert(table.count > 100, `only ${table.count} aliases`);
    using libc = Libc.open();
    const mods = matchModules(table, scanModaliases(libcSysfs(libc)));
    for (const m of mods) assert(/^[a-z0-9_]+$/.test(m), m);
  });
});

Deno.test("modules.dep: names, paths and load order", async (t) => {
  const dep = parseModulesDep(
    `kernel/drivers/block/virtio_blk.ko.xz: kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko
kernel/drivers/virtio/virtio_ring.ko: kernel/drivers/virtio/virtio.ko
kernel/drivers/virtio/virtio.ko:
kernel/drivers/net/virtio_net.ko: kernel/net/core/failover.ko kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko
kernel/net/core/failover.ko:
kernel/drivers/scsi/sr-mod.ko:
`,
  );
  await t.step("module names are normalised", () => {
    assertEquals(moduleNameOfPath("kernel/drivers/scsi/sr-mod.ko"), "sr_mod");
    assertEquals(dep.paths.get("sr_mod"), "kernel/drivers/scsi/sr-mod.ko");
    assertEquals(dep.deps.get("virtio_blk"), ["virtio_ring", "virtio"]);
  });
  await t.step("dependencies first, each once", () => {
    const { order, unknown } = moduleLoadOrder(
      ["virtio_blk", "virtio-net", "nope"],
      dep,
    );
    assertEquals(order.map((o) => o.name), [
      "virtio",
      "virtio_ring",
      "virtio_blk",
      "failover",
      "virtio_net",
    ]);
    assertEquals(unknown, ["nope"]);
  });
  await t.step("loaded modules are skipped", () => {
    const { order } = moduleLoadOrder(["virtio_net"], dep, new Set(["virtio"]));
    assertEquals(order.map((o) => o.name), [
      "virtio_ring",
      "failover",
      "virtio_net",
    ]);
  });
  await t.step("a cycle is an error", () => {
    const cyc = parseModulesDep("a.ko: b.ko\nb.ko: a.ko\n");
    assertIncludes(
      String(assertThrows(() => moduleLoadOrder(["a"], cyc))),
      "dependency cycle",
    );
  });
  await t.step("bad lines name their number", () => {
    assertIncludes(
      String(assertThrows(() => parseModulesDep("a.ko:\nbroken\n"))),
      "line 2",
    );
    assertIncludes(
      String(assertThrows(() => parseModulesDep("../evil.ko:\n"))),
      "leaves the modules folder",
    );
  });
});
