/**
 * The socket tables of /proc/net (tcp, tcp6, udp, udp6, udplite, udplite6,
 * raw, raw6) and /proc/mounts, parsed; socket inodes mapped to the
 * processes holding them (/proc/PID/fd).
 * @module
 */

/** A socket table of /proc/net. */
export type SocketProto =
  | "tcp"
  | "tcp6"
  | "udp"
  | "udp6"
  | "udplite"
  | "udplite6"
  | "raw"
  | "raw6";

/** Every socket table, in netstat's order. */
export const SOCKET_PROTOS: readonly SocketProto[] = [
  "tcp",
  "tcp6",
  "udp",
  "udp6",
  "udplite",
  "udplite6",
  "raw",
  "raw6",
];

/** One socket of a /proc/net table. */
export interface SocketRecord {
  /** The table it is in. */
  proto: SocketProto;
  /** Local address (dotted IPv4 or RFC 5952 IPv6). */
  localIp: string;
  /** Local port. */
  localPort: number;
  /** Remote address. */
  remoteIp: string;
  /** Remote port. */
  remotePort: number;
  /** The kernel's state number (TCP states; 7 is an unconnected UDP). */
  state: number;
  /** Send queue bytes. */
  txQueue: number;
  /** Receive queue bytes. */
  rxQueue: number;
  /** Active timer (0 off, 1 on, 2 keepalive, 3 timewait, 4 probe). */
  timer: number;
  /** Jiffies until the timer fires. */
  timerWhen: number;
  /** Unrecovered retransmits. */
  retransmits: number;
  /** Owner uid. */
  uid: number;
  /** Unanswered probes. */
  timeout: number;
  /** Socket inode. */
  inode: number;
  /** Reference count. */
  ref: number;
  /** Kernel address of the socket (0 unless kptr_restrict allows). */
  pointer: number;
}

function hexWord(h: string): number[] {
  // A 32-bit word in host (little-endian) byte order.
  const n = parseInt(h, 16);
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}

/** An address of /proc/net in hex ("0100007F", 32 digits for IPv6), readable. */
export function parseHexAddress(hex: string): string {
  if (!/^[0-9A-Fa-f]+$/.test(hex) || (hex.length !== 8 && hex.length !== 32)) {
    throw new Error(`Cannot parse socket address ${JSON.stringify(hex)}`);
  }
  if (hex.length === 8) return hexWord(hex).join(".");
  const bytes: number[] = [];
  for (let i = 0; i < 32; i += 8) bytes.push(...hexWord(hex.slice(i, i + 8)));
  const v4mapped = bytes.slice(0, 10).every((b) => b === 0) &&
    bytes[10] === 0xff && bytes[11] === 0xff;
  if (v4mapped) return `::ffff:${bytes.slice(12).join(".")}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i] << 8) | bytes[i + 1]);
  // RFC 5952: the longest run (2+) of zero groups becomes "::".
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hexes = groups.map((g) => g.toString(16));
  if (best < 0) return hexes.join(":");
  return `${hexes.slice(0, best).join(":")}::${
    hexes.slice(best + bestLen).join(":")
  }`;
}

function endpoint(s: string, where: string): [string, number] {
  const [addr, port] = s.split(":");
  if (port === undefined || !/^[0-9A-Fa-f]{4}$/.test(port)) {
    throw new Error(`Cannot parse ${where}: endpoint ${JSON.stringify(s)}`);
  }
  return [parseHexAddress(addr), parseInt(port, 16)];
}

/** Parses one /proc/net socket table (its header line first). */
export function parseSocketTable(
  text: string,
  proto: SocketProto,
): SocketRecord[] {
  const out: SocketRecord[] = [];
  const where = `/proc/net/${proto}`;
  for (const line of text.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 12) continue;
    const [localIp, localPort] = endpoint(f[1], where);
    const [remoteIp, remotePort] = endpoint(f[2], where);
    const [tx, rx] = f[4].split(":");
    const [tr, when] = f[5].split(":");
    const num = (v: string | undefined, radix: number) => {
      const n = parseInt(v ?? "", radix);
      if (!Number.isFinite(n)) {
        throw new Error(
          `Cannot parse ${where}: ${JSON.stringify(line.trim())}`,
        );
      }
      return n;
    };
    out.push({
      proto,
      localIp,
      localPort,
      remoteIp,
      remotePort,
      state: num(f[3], 16),
      txQueue: num(tx, 16),
      rxQueue: num(rx, 16),
      timer: num(tr, 16),
      timerWhen: num(when, 16),
      retransmits: num(f[6], 16),
      uid: num(f[7], 10),
      timeout: num(f[8], 10),
      inode: num(f[9], 10),
      ref: num(f[10], 10),
      pointer: num(f[11], 16),
    });
  }
  return out;
}

/** Reads one socket table; a table the kernel lacks (no IPv6) is empty. */
export async function readSocketTable(
  proto: SocketProto,
  procDir = "/proc",
): Promise<SocketRecord[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(`${procDir}/net/${proto}`);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
  return parseSocketTable(text, proto);
}

/** Socket inode to the process holding it, from /proc/PID/fd links. */
export async function socketOwners(
  procDir = "/proc",
): Promise<Map<number, { pid: number; name: string }>> {
  const out = new Map<number, { pid: number; name: string }>();
  for await (const e of Deno.readDir(procDir)) {
    if (!/^\d+$/.test(e.name)) continue;
    const pid = Number(e.name);
    let name: string | undefined;
    try {
      for await (const fd of Deno.readDir(`${procDir}/${pid}/fd`)) {
        const link = await Deno.readLink(`${procDir}/${pid}/fd/${fd.name}`)
          .catch(() => "");
        const m = /^socket:\[(\d+)\]$/.exec(link);
        if (!m || out.has(Number(m[1]))) continue;
        name ??= (await Deno.readTextFile(`${procDir}/${pid}/comm`)
          .catch(() => "")).trim();
        out.set(Number(m[1]), { pid, name });
      }
    } catch {
      // Gone, or not ours to read: its sockets stay without a process.
    }
  }
  return out;
}

/** One line of /proc/mounts. */
export interface MountRecord {
  /** The mounted source (device or name). */
  source: string;
  /** Where it is mounted. */
  mountPoint: string;
  /** File system type. */
  fsType: string;
  /** Mount options. */
  options: string;
}

/** /proc/mounts escapes space, tab, newline and backslash as octal. */
function unescapeMount(s: string): string {
  return s.replace(
    /\\([0-7]{3})/g,
    (_, o) => String.fromCharCode(parseInt(o, 8)),
  );
}

/** Parses the text of /proc/mounts. */
export function parseMounts(text: string): MountRecord[] {
  const out: MountRecord[] = [];
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4) continue;
    out.push({
      source: unescapeMount(f[0]),
      mountPoint: unescapeMount(f[1]),
      fsType: f[2],
      options: f[3],
    });
  }
  return out;
}
