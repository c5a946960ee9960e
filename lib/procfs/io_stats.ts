/**
 * Per-device counters: /proc/diskstats (block devices) and /proc/net/dev
 * (network devices), each with a total, as Talos reports them.
 * @module
 */

/** One block device's counters (/proc/diskstats, kernel 4.18+ fields). */
export interface DiskStatRecord {
  /** Device name. */
  name: string;
  /** Reads completed. */
  readCompleted: number;
  /** Reads merged. */
  readMerged: number;
  /** Sectors read. */
  readSectors: number;
  /** Time reading (ms). */
  readTimeMs: number;
  /** Writes completed. */
  writeCompleted: number;
  /** Writes merged. */
  writeMerged: number;
  /** Sectors written. */
  writeSectors: number;
  /** Time writing (ms). */
  writeTimeMs: number;
  /** I/Os in progress. */
  ioInProgress: number;
  /** Time doing I/O (ms). */
  ioTimeMs: number;
  /** Weighted time doing I/O (ms). */
  ioTimeWeightedMs: number;
  /** Discards completed. */
  discardCompleted: number;
  /** Discards merged. */
  discardMerged: number;
  /** Sectors discarded. */
  discardSectors: number;
  /** Time discarding (ms). */
  discardTimeMs: number;
}

const DISK_FIELDS = [
  "readCompleted",
  "readMerged",
  "readSectors",
  "readTimeMs",
  "writeCompleted",
  "writeMerged",
  "writeSectors",
  "writeTimeMs",
  "ioInProgress",
  "ioTimeMs",
  "ioTimeWeightedMs",
  "discardCompleted",
  "discardMerged",
  "discardSectors",
  "discardTimeMs",
] as const;

function whole(value: string, what: string): number {
  if (!/^\d+$/.test(value)) {
    throw new Error(
      `Cannot parse ${what}: ${JSON.stringify(value)} is not a count`,
    );
  }
  return Number(value);
}

/** Parses /proc/diskstats: the devices (lines with the discard fields) and their sum. */
export function parseDiskStats(
  text: string,
): { devices: DiskStatRecord[]; total: DiskStatRecord } {
  const total = { name: "" } as DiskStatRecord;
  for (const k of DISK_FIELDS) total[k] = 0;
  const devices: DiskStatRecord[] = [];
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    // As Talos: older kernels' lines without the discard fields are skipped.
    if (f.length < 18) continue;
    const d = { name: f[2] } as DiskStatRecord;
    DISK_FIELDS.forEach((k, i) => {
      d[k] = whole(f[3 + i], `/proc/diskstats line of ${f[2]}`);
      total[k] += d[k];
    });
    devices.push(d);
  }
  return { devices, total };
}

/** One network device's counters (/proc/net/dev). */
export interface NetDevRecord {
  /** Interface name. */
  name: string;
  /** Bytes received. */
  rxBytes: number;
  /** Packets received. */
  rxPackets: number;
  /** Receive errors. */
  rxErrors: number;
  /** Received packets dropped. */
  rxDropped: number;
  /** Receive FIFO errors. */
  rxFifo: number;
  /** Receive frame errors. */
  rxFrame: number;
  /** Compressed packets received. */
  rxCompressed: number;
  /** Multicast packets received. */
  rxMulticast: number;
  /** Bytes sent. */
  txBytes: number;
  /** Packets sent. */
  txPackets: number;
  /** Send errors. */
  txErrors: number;
  /** Sent packets dropped. */
  txDropped: number;
  /** Send FIFO errors. */
  txFifo: number;
  /** Collisions. */
  txCollisions: number;
  /** Carrier losses. */
  txCarrier: number;
  /** Compressed packets sent. */
  txCompressed: number;
}

const NETDEV_FIELDS = [
  "rxBytes",
  "rxPackets",
  "rxErrors",
  "rxDropped",
  "rxFifo",
  "rxFrame",
  "rxCompressed",
  "rxMulticast",
  "txBytes",
  "txPackets",
  "txErrors",
  "txDropped",
  "txFifo",
  "txCollisions",
  "txCarrier",
  "txCompressed",
] as const;

/** Parses /proc/net/dev: the devices, sorted by name, and their sum. */
export function parseNetDev(
  text: string,
): { devices: NetDevRecord[]; total: NetDevRecord } {
  const total = { name: "" } as NetDevRecord;
  for (const k of NETDEV_FIELDS) total[k] = 0;
  const devices: NetDevRecord[] = [];
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    // The two header lines have "|" and no "name:".
    if (colon < 0 || line.includes("|")) continue;
    const name = line.slice(0, colon).trim();
    const f = line.slice(colon + 1).trim().split(/\s+/);
    if (f.length < 16) {
      throw new Error(
        `Cannot parse /proc/net/dev: ${
          JSON.stringify(name)
        } has ${f.length} fields, want 16`,
      );
    }
    const d = { name } as NetDevRecord;
    NETDEV_FIELDS.forEach((k, i) => {
      d[k] = whole(f[i], `/proc/net/dev line of ${name}`);
      total[k] += d[k];
    });
    devices.push(d);
  }
  devices.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  return { devices, total };
}
