/**
 * A GUID partition table written by our own code (no sfdisk on the host):
 * protective MBR, primary and backup headers and entry arrays, partitions
 * aligned to 1 MiB, GUIDs derived from a seed so the layout is reproducible.
 * @module
 */

/** What a partition should be. */
export interface PartitionSpec {
  /** GPT partition name (PARTLABEL), at most 36 UTF-16 code units. */
  label: string;
  /** Size in bytes (rounded up to 1 MiB), or "rest" for what remains. */
  size: number | "rest";
  /** Partition type GUID; Linux filesystem data by default. */
  type?: string;
}

/** A placed partition. */
export interface Partition {
  /** GPT partition name. */
  label: string;
  /** 1-based partition number. */
  number: number;
  /** First sector (inclusive). */
  firstLba: number;
  /** Last sector (inclusive). */
  lastLba: number;
  /** Byte offset in the disk. */
  offset: number;
  /** Size in bytes. */
  size: number;
  /** Type GUID. */
  type: string;
  /** Unique partition GUID. */
  guid: string;
}

/** A whole disk layout. */
export interface GptLayout {
  /** Disk size in bytes. */
  diskSize: number;
  /** Disk GUID. */
  diskGuid: string;
  /** The partitions, in order. */
  partitions: Partition[];
}

/** Linux filesystem data partition type. */
export const LINUX_FS_TYPE = "0FC63DAF-8483-4772-8E79-3D69D8477DE4";

const SECTOR = 512;
const ALIGN = 1024 * 1024;
const ENTRIES = 128;
const ENTRY_SIZE = 128;
const ENTRY_SECTORS = (ENTRIES * ENTRY_SIZE) / SECTOR; // 32

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE 802.3), as GPT uses it. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A GUID string derived from a seed (version 4 and variant bits set). */
export async function seededGuid(seed: string): Promise<string> {
  const h = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(seed)),
  );
  h[6] = (h[6] & 0x0f) | 0x40;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = [...h.subarray(0, 16)].map((b) => b.toString(16).padStart(2, "0"))
    .join("").toUpperCase();
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${
    x.slice(16, 20)
  }-${x.slice(20, 32)}`;
}

/** GPT's on-disk GUID encoding (first three fields little-endian). */
export function guidBytes(guid: string): Uint8Array {
  const m =
    /^([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/i
      .exec(guid);
  if (m === null) throw new Error(`Invalid GUID ${JSON.stringify(guid)}`);
  const hex = (s: string) => s.match(/../g)!.map((b) => parseInt(b, 16));
  return new Uint8Array([
    ...hex(m[1]).reverse(),
    ...hex(m[2]).reverse(),
    ...hex(m[3]).reverse(),
    ...hex(m[4]),
    ...hex(m[5]),
  ]);
}

/**
 * Places partitions on a disk of `diskSize` bytes (a multiple of 1 MiB).
 * Throws when they do not fit, naming the partition.
 */
export async function gptLayout(
  diskSize: number,
  specs: readonly PartitionSpec[],
  options: { seed?: string } = {},
): Promise<GptLayout> {
  if (
    !Number.isSafeInteger(diskSize) || diskSize % ALIGN !== 0 ||
    diskSize < 4 * ALIGN
  ) {
    throw new Error(
      `Disk size ${diskSize} must be a multiple of 1 MiB, at least 4 MiB`,
    );
  }
  const seed = options.seed ?? "bronze";
  const lastUsable = diskSize / SECTOR - 1 - 1 - ENTRY_SECTORS;
  let next = ALIGN / SECTOR;
  const partitions: Partition[] = [];
  for (const [i, spec] of specs.entries()) {
    if (spec.label.length === 0 || spec.label.length > 36) {
      throw new Error(`Invalid partition label ${JSON.stringify(spec.label)}`);
    }
    let sectors: number;
    if (spec.size === "rest") {
      if (i !== specs.length - 1) {
        throw new Error(
          `Only the last partition may take the rest (${spec.label})`,
        );
      }
      // End on a 1 MiB boundary below the backup GPT.
      const end = Math.floor((lastUsable + 1) / (ALIGN / SECTOR)) *
        (ALIGN / SECTOR);
      sectors = end - next;
    } else {
      sectors = Math.ceil(spec.size / ALIGN) * (ALIGN / SECTOR);
    }
    const lastLba = next + sectors - 1;
    if (sectors <= 0 || lastLba > lastUsable) {
      throw new Error(
        `Partition ${
          JSON.stringify(spec.label)
        } does not fit on a ${diskSize}-byte disk`,
      );
    }
    partitions.push({
      label: spec.label,
      number: i + 1,
      firstLba: next,
      lastLba,
      offset: next * SECTOR,
      size: sectors * SECTOR,
      type: (spec.type ?? LINUX_FS_TYPE).toUpperCase(),
      guid: await seededGuid(`${seed}/partition/${spec.label}`),
    });
    next = lastLba + 1;
  }
  return { diskSize, diskGuid: await seededGuid(`${seed}/disk`), partitions };
}

/**
 * The bytes of the table: `head` goes at offset 0 (MBR, header, entries),
 * `tail` at `diskSize - tail.length` (backup entries and header).
 */
export function gptBytes(
  layout: GptLayout,
): { head: Uint8Array; tail: Uint8Array } {
  const totalSectors = layout.diskSize / SECTOR;
  const lastLba = totalSectors - 1;
  const entries = new Uint8Array(ENTRIES * ENTRY_SIZE);
  const ev = new DataView(entries.buffer);
  for (const [i, p] of layout.partitions.entries()) {
    const o = i * ENTRY_SIZE;
    entries.set(guidBytes(p.type), o);
    entries.set(guidBytes(p.guid), o + 16);
    ev.setBigUint64(o + 32, BigInt(p.firstLba), true);
    ev.setBigUint64(o + 40, BigInt(p.lastLba), true);
    for (let c = 0; c < p.label.length; c++) {
      ev.setUint16(o + 56 + c * 2, p.label.charCodeAt(c), true);
    }
  }
  const entriesCrc = crc32(entries);

  const makeHeader = (current: number, backup: number, entriesLba: number) => {
    const h = new Uint8Array(SECTOR);
    const v = new DataView(h.buffer);
    h.set(new TextEncoder().encode("EFI PART"));
    v.setUint32(8, 0x00010000, true);
    v.setUint32(12, 92, true);
    v.setBigUint64(24, BigInt(current), true);
    v.setBigUint64(32, BigInt(backup), true);
    v.setBigUint64(40, BigInt(2 + ENTRY_SECTORS), true);
    v.setBigUint64(48, BigInt(lastLba - 1 - ENTRY_SECTORS), true);
    h.set(guidBytes(layout.diskGuid), 56);
    v.setBigUint64(72, BigInt(entriesLba), true);
    v.setUint32(80, ENTRIES, true);
    v.setUint32(84, ENTRY_SIZE, true);
    v.setUint32(88, entriesCrc, true);
    v.setUint32(16, crc32(h.subarray(0, 92)), true);
    return h;
  };

  const head = new Uint8Array(SECTOR * (2 + ENTRY_SECTORS));
  // Protective MBR: one partition of type 0xEE covering the disk.
  const mbr = new DataView(head.buffer, 0, SECTOR);
  head.set([0x00, 0x00, 0x02, 0x00, 0xee, 0xff, 0xff, 0xff], 446);
  mbr.setUint32(446 + 8, 1, true);
  mbr.setUint32(446 + 12, Math.min(totalSectors - 1, 0xffffffff), true);
  head[510] = 0x55;
  head[511] = 0xaa;
  head.set(makeHeader(1, lastLba, 2), SECTOR);
  head.set(entries, 2 * SECTOR);

  const tail = new Uint8Array(SECTOR * (1 + ENTRY_SECTORS));
  tail.set(entries, 0);
  tail.set(
    makeHeader(lastLba, 1, lastLba - ENTRY_SECTORS),
    ENTRY_SECTORS * SECTOR,
  );
  return { head, tail };
}
