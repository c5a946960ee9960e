import {
  loadModules,
  loadOrder,
  planColdplug,
  scanModaliases,
} from "./coldplug.ts";
import { moduleName, parseModulesDep } from "../../lib/kmod/mod.ts";
import { libcSysfs } from "./sysfs.ts";
import { Libc } from "../../lib/ffi/mod.ts";
import {
  assert,
  assertEquals,
  assertIncludes,
  assertRejects,
  assertThrows,
  tempDir,
  writeTree,
} from "../../lib/testing/mod.ts";

Deno.test("planColdplug() finds the modules present devices need", async (t) => {
  await using dir = await tempDir();
  const sys = `${dir.path}/sys`;
  const mods = `${dir.path}/modules`;
  await writeTree(sys, {
    "devices/pci0000:00/0000:00:02.0/modalias":
      "pci:v00001AF4d00001042sv00001AF4sd00001042bc01sc80i00\n",
    "devices/pci0000:00/0000:00:02.0/virtio1/modalias":
      "virtio:d00000002v00001AF4\n",
    "devices/pci0000:00/0000:00:03.0/virtio2/modalias":
      "virtio:d00000001v00001AF4\n",
    "devices/platform/serial8250/modalias": "platform:serial8250\n",
    "devices/platform/weird/modalias": "bad\u0001alias\n",
    "module/virtio_net/refcnt": "0\n",
  });
  // A symlink loop must not be followed.
  await Deno.symlink("..", `${sys}/devices/platform/loop`);
  await writeTree(mods, {
    "modules.alias": [
      "alias pci:v00001AF4d*sv*sd*bc*sc*i* virtio_pci",
      "alias virtio:d00000002v* virtio_blk",
      "alias virtio:d00000001v* virtio_net",
      "alias platform:serial8250 8250",
      "",
    ].join("\n"),
    "modules.builtin": "kernel/drivers/tty/serial/8250/8250.ko\n",
  });
  using libc = Libc.open();
  const reader = libcSysfs(libc);

  await t.step("modaliases: distinct, no control characters", () => {
    assertEquals(scanModaliases(reader, { sysRoot: sys }), [
      "pci:v00001AF4d00001042sv00001AF4sd00001042bc01sc80i00",
      "platform:serial8250",
      "virtio:d00000001v00001AF4",
      "virtio:d00000002v00001AF4",
    ]);
  });
  await t.step(
    "built-in and loaded modules are present, not to load",
    async () => {
      const plan = await planColdplug(reader, mods, { sysRoot: sys });
      assertEquals(plan.modules, ["virtio_blk", "virtio_pci"]);
      assertEquals(plan.present, ["8250", "virtio_net"]);
      assertEquals(plan.aliasCount, 4);
    },
  );
  await t.step("no modules.alias: nothing to load", async () => {
    const plan = await planColdplug(reader, `${dir.path}/none`, {
      sysRoot: sys,
    });
    assertEquals(plan.modules, []);
    assertEquals(plan.modaliases.length, 4);
  });
  await t.step("loading without modules.dep is a clear error", async () => {
    const err = await assertRejects(() =>
      loadModules(libc, ["virtio_blk"], { modulesDir: mods, sys: reader })
    );
    assertIncludes(String(err), `no modules.dep in ${mods}`);
  });
});

Deno.test({
  name: "loadModules() reports a module the kernel refuses, and what needs it",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    await using dir = await tempDir();
    const mods = dir.path;
    await Deno.mkdir(`${mods}/kernel`);
    // Not an ELF object: the kernel refuses it before anything is loaded.
    await Deno.writeTextFile(`${mods}/kernel/bronze_fake.ko`, "not a module");
    await Deno.writeTextFile(`${mods}/kernel/bronze_user.ko`, "not a module");
    await Deno.writeTextFile(
      `${mods}/modules.dep`,
      "kernel/bronze_fake.ko:\nkernel/bronze_user.ko: kernel/bronze_fake.ko\n",
    );
    using libc = Libc.open();
    const report = await loadModules(libc, ["bronze_user", "nope"], {
      modulesDir: mods,
      sys: libcSysfs(libc),
    });
    assertEquals(report.loaded, []);
    assertEquals(report.unknown, ["nope"]);
    assertEquals(report.failed.map((f) => f.module), [
      "bronze_fake",
      "bronze_user",
    ]);
    assertIncludes(
      report.failed[0].error,
      `Cannot load module "${mods}/kernel/bronze_fake.ko"`,
    );
    assert(/E[A-Z]+ \(/.test(report.failed[0].error), report.failed[0].error);
    assertEquals(report.failed[1].error, 'needs "bronze_fake", which failed');
  },
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
    assertEquals(moduleName("kernel/drivers/scsi/sr-mod.ko"), "sr_mod");
    assert(dep.has("kernel/drivers/scsi/sr-mod.ko"));
    assertEquals(
      dep.get("kernel/drivers/block/virtio_blk.ko.xz")?.map(moduleName),
      ["virtio_ring", "virtio"],
    );
  });
  await t.step("dependencies first, each once", () => {
    const { order, unknown } = loadOrder(
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
    const { order } = loadOrder(["virtio_net"], dep, new Set(["virtio"]));
    assertEquals(order.map((o) => o.name), [
      "virtio_ring",
      "failover",
      "virtio_net",
    ]);
  });
  await t.step("a cycle is an error", () => {
    const cyc = parseModulesDep("a.ko: b.ko\nb.ko: a.ko\n");
    assertIncludes(
      String(assertThrows(() => loadOrder(["a"], cyc))),
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
