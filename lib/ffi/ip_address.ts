/** An address family as Bronze names it (iproute2's words). */
export type AddressFamily = "inet" | "inet6";

/** A parsed IP address: its family and network-order bytes (4 or 16). */
export interface IpAddress {
  /** "inet" (IPv4) or "inet6" (IPv6). */
  family: AddressFamily;
  /** The address in network byte order. */
  bytes: Uint8Array;
}

/** A parsed CIDR: an address and a prefix length. */
export interface Cidr extends IpAddress {
  /** Prefix length, 0..32 or 0..128. */
  prefix: number;
}

/** AF_INET. */
export const AF_INET = 2;
/** AF_INET6. */
export const AF_INET6 = 10;

/** The kernel's AF_* number of a family. */
export function familyNumber(family: AddressFamily): number {
  return family === "inet" ? AF_INET : AF_INET6;
}

/** The family of a kernel AF_* number, or undefined for others. */
export function familyName(af: number): AddressFamily | undefined {
  if (af === AF_INET) return "inet";
  if (af === AF_INET6) return "inet6";
  return undefined;
}

/** The full prefix length of a family (32 or 128). */
export function maxPrefix(family: AddressFamily): number {
  return family === "inet" ? 32 : 128;
}

/** Parses an IPv4 or IPv6 address; throws naming the text when it is not one. */
export function parseIp(text: string): IpAddress {
  const v4 = parseIpv4(text);
  if (v4) return { family: "inet", bytes: v4 };
  const v6 = parseIpv6(text);
  if (v6) return { family: "inet6", bytes: v6 };
  throw new Error(
    `Cannot parse address ${JSON.stringify(text)}: not an IPv4 or IPv6 address`,
  );
}

/** Parses "addr/prefix"; throws naming the text on a bad address or prefix. */
export function parseCidr(text: string): Cidr {
  if (typeof text !== "string") {
    throw new Error(`Cannot parse CIDR ${JSON.stringify(text)}: not a string`);
  }
  const slash = text.indexOf("/");
  if (slash < 0) {
    throw new Error(
      `Cannot parse CIDR ${JSON.stringify(text)}: missing "/prefix"`,
    );
  }
  const addrText = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  let ip: IpAddress;
  try {
    ip = parseIp(addrText);
  } catch (cause) {
    throw new Error(
      `Cannot parse CIDR ${JSON.stringify(text)}: bad address`,
      { cause },
    );
  }
  if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText)) {
    throw new Error(
      `Cannot parse CIDR ${
        JSON.stringify(text)
      }: prefix length is not a number`,
    );
  }
  const prefix = Number(prefixText);
  if (prefix > maxPrefix(ip.family)) {
    throw new Error(
      `Cannot parse CIDR ${JSON.stringify(text)}: prefix length out of range`,
    );
  }
  return { ...ip, prefix };
}

/** Formats address bytes (4 or 16) as text (IPv6 compressed per RFC 5952). */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join(".");
  if (bytes.length !== 16) {
    throw new Error(
      `Cannot format address: ${bytes.length} bytes is neither IPv4 nor IPv6`,
    );
  }
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((bytes[i] << 8) | bytes[i + 1]);
  // IPv4-mapped ::ffff:a.b.c.d reads best in dotted form.
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) {
    return `::ffff:${Array.from(bytes.subarray(12)).join(".")}`;
  }
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(":");
  if (bestStart < 0) return hex(words);
  return `${hex(words.slice(0, bestStart))}::${
    hex(words.slice(bestStart + bestLen))
  }`;
}

/** Formats a CIDR as "addr/prefix". */
export function formatCidr(
  cidr: { bytes: Uint8Array; prefix: number },
): string {
  return `${formatIp(cidr.bytes)}/${cidr.prefix}`;
}

/** The network part of a CIDR (host bits cleared), as a new Cidr. */
export function networkOf(cidr: Cidr): Cidr {
  const bytes = new Uint8Array(cidr.bytes);
  for (let bit = cidr.prefix; bit < bytes.length * 8; bit++) {
    bytes[bit >> 3] &= ~(0x80 >> (bit & 7));
  }
  return { family: cidr.family, bytes, prefix: cidr.prefix };
}

/** Whether two byte strings are equal. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Whether `ip` lies inside `cidr` (same family). */
export function cidrContains(cidr: Cidr, ip: IpAddress): boolean {
  if (cidr.family !== ip.family) return false;
  const net = networkOf(cidr);
  const other = networkOf({ ...ip, prefix: cidr.prefix });
  return bytesEqual(net.bytes, other.bytes);
}

function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(parts[i])) return undefined;
    const n = Number(parts[i]);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

function parseIpv6(text: string): Uint8Array | undefined {
  if (text.length > 45 || !/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  let tail4: Uint8Array | undefined;
  let body = text;
  const lastColon = text.lastIndexOf(":");
  if (text.includes(".")) {
    tail4 = parseIpv4(text.slice(lastColon + 1));
    if (!tail4) return undefined;
    body = text.slice(0, lastColon + 1) + "0:0";
  }
  const halves = body.split("::");
  if (halves.length > 2) return undefined;
  const group = (s: string): number[] | undefined => {
    if (s === "") return [];
    const out: number[] = [];
    for (const g of s.split(":")) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = group(halves[0]);
  const rest = halves.length === 2 ? group(halves[1]) : [];
  if (!head || !rest) return undefined;
  let words: number[];
  if (halves.length === 2) {
    if (head.length + rest.length > 7) return undefined;
    words = [
      ...head,
      ...new Array(8 - head.length - rest.length).fill(0),
      ...rest,
    ];
  } else {
    if (head.length !== 8) return undefined;
    words = head;
  }
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[i * 2] = w >> 8;
    out[i * 2 + 1] = w & 0xff;
  });
  if (tail4) out.set(tail4, 12);
  return out;
}
