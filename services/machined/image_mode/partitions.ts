/**
 * Finding the node's partitions by label, as blkid would: the GPT partition
 * name the kernel reports (PARTNAME in /sys/class/block/<dev>/uevent), else
 * the ext4 superblock's volume label.
 * @module
 */

/** A block device found by label. */
export interface LabelledDevice {
  /** Kernel name, e.g. "vda1". */
  name: string;
  /** Device node, e.g. "/dev/vda1". */
  devPath: string;
  /** How the label was found. */
  via: "gpt" | "ext4";
}

/** What partition lookup reads (tests pass a fake tree). */
export interface BlockTree {
  /** Names under /sys/class/block. */
  devices(): string[];
  /** The uevent text of one device ("" when unreadable). */
  uevent(name: string): string;
  /** The first `length` bytes of the device (throws when unreadable). */
  head(name: string, length: number): Uint8Array;
}

/** ext4's superblock: at 1024; magic at +0x38; volume name at +0x78. */
const SB_OFFSET = 1024;
const EXT4_MAGIC = 0xef53;

/** The ext2/3/4 volume label in the first 2 KiB of a device, if any. */
export function ext4Label(head: Uint8Array): string | undefined {
  if (head.length < SB_OFFSET + 0x88) return undefined;
  const v = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (v.getUint16(SB_OFFSET + 0x38, true) !== EXT4_MAGIC) return undefined;
  const raw = head.subarray(SB_OFFSET + 0x78, SB_OFFSET + 0x88);
  const end = raw.indexOf(0);
  return new TextDecoder().decode(end < 0 ? raw : raw.subarray(0, end));
}

function ueventValue(text: string, key: string): string | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith(`${key}=`)) return line.slice(key.length + 1);
  }
  return undefined;
}

/**
 * The partition labelled `label`: a GPT partition name first, then an ext4
 * label on any partition or whole disk. Loop and ram devices are skipped.
 */
export function findByLabel(
  tree: BlockTree,
  label: string,
): LabelledDevice | undefined {
  const names = tree.devices().filter((n) => !/^(loop|ram|zram)\d/.test(n))
    .sort();
  for (const name of names) {
    if (ueventValue(tree.uevent(name), "PARTNAME") === label) {
      return { name, devPath: `/dev/${name}`, via: "gpt" };
    }
  }
  for (const name of names) {
    try {
      if (ext4Label(tree.head(name, 2048)) === label) {
        return { name, devPath: `/dev/${name}`, via: "ext4" };
      }
    } catch {
      // unreadable (no medium, gone): not ours
    }
  }
  return undefined;
}

/** The real tree: /sys/class/block and /dev. */
export const SYSFS_BLOCK_TREE: BlockTree = {
  devices(): string[] {
    try {
      return [...Deno.readDirSync("/sys/class/block")].map((e) => e.name);
    } catch {
      return [];
    }
  },
  uevent(name: string): string {
    try {
      return Deno.readTextFileSync(`/sys/class/block/${name}/uevent`);
    } catch {
      return "";
    }
  },
  head(name: string, length: number): Uint8Array {
    using f = Deno.openSync(`/dev/${name}`, { read: true });
    const buf = new Uint8Array(length);
    let got = 0;
    while (got < length) {
      const n = f.readSync(buf.subarray(got));
      if (n === null || n === 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  },
};
