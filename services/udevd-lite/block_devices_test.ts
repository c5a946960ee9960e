import { diskType, listBlockDevices } from "./block_devices.ts";
import { libcSysfs } from "./sysfs.ts";
import { Libc } from "../../lib/ffi/mod.ts";
import {
  assert,
  assertEquals,
  assertIncludes,
  assertThrows,
  tempDir,
  writeTree,
} from "../../lib/testing/mod.ts";

Deno.test("listBlockDevices() reads a fixture sysfs tree", async (t) => {
  await using dir = await tempDir();
  const sys = dir.path;
  const dev = "devices/pci0000:00/0000:00:05.0";
  await writeTree(sys, {
    [`${dev}/virtio5/block/vdb/size`]: "2097152\n",
    [`${dev}/virtio5/block/vdb/ro`]: "0\n",
    [`${dev}/virtio5/block/vdb/queue/rotational`]: "1\n",
    [`${dev}/virtio5/block/vdb/serial`]: "bronze-disk-1\n",
    [`${dev}/nvme/nvme0/nvme0n1/size`]: "100\n",
    [`${dev}/nvme/nvme0/nvme0n1/ro`]: "0\n",
    [`${dev}/nvme/nvme0/nvme0n1/queue/rotational`]: "0\n",
    [`${dev}/nvme/nvme0/nvme0n1/wwid`]: "eui.0025388b\n",
    [`${dev}/nvme/nvme0/nvme0n1/device/model`]: "Samsung SSD 980  \n",
    [`${dev}/nvme/nvme0/nvme0n1/device/serial`]: "S64DNX0R\n",
    [`${dev}/ata1/sr0/size`]: "0\n",
    [`${dev}/ata1/sr0/ro`]: "1\n",
    [`${dev}/ata1/sr0/device/type`]: "5\n",
    [`${dev}/ata1/sr0/device/model`]: "QEMU DVD-ROM\n",
    [`${dev}/cciss/cciss!c0d0/size`]: "8\n",
  });
  await Deno.mkdir(`${sys}/block`);
  for (
    const [name, target] of [
      ["vdb", `${dev}/virtio5/block/vdb`],
      ["nvme0n1", `${dev}/nvme/nvme0/nvme0n1`],
      ["sr0", `${dev}/ata1/sr0`],
      ["cciss!c0d0", `${dev}/cciss/cciss!c0d0`],
    ]
  ) await Deno.symlink(`../${target}`, `${sys}/block/${name}`);
  using libc = Libc.open();
  const reader = libcSysfs(libc);
  const disks = listBlockDevices(reader, sys);

  await t.step("every device, by name", () => {
    assertEquals(disks.map((d) => d.name), [
      "cciss!c0d0",
      "nvme0n1",
      "sr0",
      "vdb",
    ]);
  });
  await t.step("virtio: size in bytes, serial, rotational", () => {
    assertEquals(disks.find((d) => d.name === "vdb"), {
      name: "vdb",
      size: 2097152 * 512,
      model: "",
      serial: "bronze-disk-1",
      type: "disk",
      readonly: false,
      rotational: true,
      devPath: "/dev/vdb",
    });
  });
  await t.step("nvme: model trimmed, device serial before wwid", () => {
    const d = disks.find((d) => d.name === "nvme0n1")!;
    assertEquals([d.model, d.serial, d.type], [
      "Samsung SSD 980",
      "S64DNX0R",
      "nvme",
    ]);
  });
  await t.step("cdrom: read-only by SCSI type", () => {
    const d = disks.find((d) => d.name === "sr0")!;
    assertEquals([d.type, d.readonly], ["cdrom", true]);
  });
  await t.step("'!' in a name is '/' in the device path", () => {
    assertEquals(
      disks.find((d) => d.name === "cciss!c0d0")!.devPath,
      "/dev/cciss/c0d0",
    );
  });
  await t.step("a device without a size is an error naming it", async () => {
    await Deno.mkdir(`${sys}/block/vdz`);
    const err = assertThrows(() => listBlockDevices(reader, sys));
    assertIncludes(String(err), 'Cannot read block device "vdz"');
  });
});

Deno.test("listBlockDevices() agrees with /sys/block on this machine", () => {
  using libc = Libc.open();
  const want = libc.readDir("/sys/block").map((e) => e.name).sort();
  const disks = listBlockDevices(libcSysfs(libc), "/sys");
  assertEquals(disks.map((d) => d.name), want);
  for (const d of disks) {
    const sectors = new TextDecoder().decode(
      libc.readFile(`/sys/block/${d.name}/size`),
    ).trim();
    assertEquals(d.size, Number(sectors) * 512);
    assert(d.devPath === `/dev/${d.name}`);
    if (d.name.startsWith("loop")) assertEquals(d.type, "loop");
  }
});

Deno.test("diskType() names kinds of block devices", () => {
  assertEquals(
    [
      "loop0",
      "zram0",
      "ram1",
      "dm-0",
      "md127",
      "nbd3",
      "nvme0n1",
      "mmcblk0",
      "sr0",
      "sda",
      "vda",
    ]
      .map((n) => diskType(n)),
    [
      "loop",
      "zram",
      "ram",
      "dm",
      "md",
      "nbd",
      "nvme",
      "mmc",
      "cdrom",
      "disk",
      "disk",
    ],
  );
  assertEquals(diskType("sdb", "5"), "cdrom");
});
