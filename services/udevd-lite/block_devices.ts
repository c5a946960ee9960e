/**
 * Block device inventory from /sys/block: name, size, model, serial, type,
 * read-only, rotational, device node.
 * @module
 */
import type { Disk } from "../../lib/api/gen/machine/machine.ts";
import type { SysfsReader } from "./sysfs.ts";

const NAME = /^[A-Za-z0-9!_.:+-]{1,64}$/;

/** The kind of a block device, from its name and SCSI type. */
export function diskType(name: string, scsiType?: string): string {
  if (/^loop\d+$/.test(name)) return "loop";
  if (/^zram\d+$/.test(name)) return "zram";
  if (/^ram\d+$/.test(name)) return "ram";
  if (/^dm-\d+$/.test(name)) return "dm";
  if (/^md\d+$/.test(name) || /^md_/.test(name)) return "md";
  if (/^nbd\d+$/.test(name)) return "nbd";
  if (/^nvme\d+n\d+$/.test(name)) return "nvme";
  if (/^mmcblk\d+$/.test(name)) return "mmc";
  if (/^sr\d+$/.test(name) || scsiType === "5") return "cdrom";
  return "disk";
}

/** One disk as the machine API reports it, read from `<sysRoot>/block/<name>`. */
export function readBlockDevice(
  sys: SysfsReader,
  sysRoot: string,
  name: string,
): Disk {
  if (!NAME.test(name)) {
    throw new Error(
      `Cannot read block device ${JSON.stringify(name)}: not a device name`,
    );
  }
  const dir = `${sysRoot}/block/${name}`;
  const sectors = sys.attr(`${dir}/size`);
  if (sectors === undefined || !/^\d{1,20}$/.test(sectors)) {
    throw new Error(
      `Cannot read block device "${name}": ${dir}/size is ${
        JSON.stringify(sectors ?? "missing")
      }`,
    );
  }
  const a = (rel: string) => sys.attr(`${dir}/${rel}`);
  return {
    name,
    // /sys/block/*/size counts 512-byte sectors whatever the block size.
    size: Number(sectors) * 512,
    model: a("device/model") ?? "",
    serial: a("device/serial") ?? a("serial") ?? a("wwid") ??
      a("device/wwid") ?? "",
    type: diskType(name, a("device/type")),
    readonly: a("ro") === "1",
    rotational: a("queue/rotational") === "1",
    devPath: `/dev/${name.replaceAll("!", "/")}`,
  };
}

/** Every block device under `<sysRoot>/block`, by name. */
export function listBlockDevices(sys: SysfsReader, sysRoot: string): Disk[] {
  const names = sys.list(`${sysRoot}/block`).map((e) => e.name)
    .filter((n) => NAME.test(n)).sort();
  if (names.length > 4096) {
    throw new Error(`Cannot list ${sysRoot}/block: more than 4096 devices`);
  }
  const disks: Disk[] = [];
  for (const n of names) {
    try {
      disks.push(readBlockDevice(sys, sysRoot, n));
    } catch (err) {
      // A device removed between listing and reading is simply gone.
      if (sys.exists(`${sysRoot}/block/${n}`)) throw err;
    }
  }
  return disks;
}
