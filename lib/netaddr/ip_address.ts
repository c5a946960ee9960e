/** An address family as Bronze names it (iproute2's words). */
export type AddressFamily = "inet" | "inet6";

/** A parsed IP address: its family and network-order bytes (4 or 16). */
export interface IpAddress {
  /** "inet" (IPv4) or "inet6" (IPv6). */
  family: AddressFamily;
  /** The address in network byte order. */
  bytes: Uint8Array;
}

// Exactly the dotted-decimal form: no leading zeros (octal to some parsers),
// no hex, no fewer than four parts (inet_aton's "127.1"), each part <= 255.
const IPV4_PART = /^(0|[1-9][0-9]{0,2})$/;
const IPV6_GROUP = /^[0-9a-fA-F]{1,4}$/;
const IPV6_CHARS = /^[0-9a-fA-F:.]+$/;

/**
 * Parses an IPv4 address (dotted decimal, four parts, no leading zeros) or an
 * IPv6 address (RFC 4291 text form, no zone, no brackets), or undefined.
 */
export function tryParseIp(text: string): IpAddress | undefined {
  if (typeof text !== "string") return undefined;
  const v4 = parseIpv4(text);
  if (v4) return { family: "inet", bytes: v4 };
  const v6 = parseIpv6(text);
  if (v6) return { family: "inet6", bytes: v6 };
  return undefined;
}

/** Parses an IPv4 or IPv6 address; throws naming the text when it is not one. */
export function parseIp(text: string): IpAddress {
  const ip = tryParseIp(text);
  if (ip) return ip;
  throw new Error(
    `Cannot parse address ${JSON.stringify(text)}: not an IPv4 or IPv6 address`,
  );
}

/** The family of an IP address, or undefined if `text` is not one. */
export function ipFamily(text: string): AddressFamily | undefined {
  return tryParseIp(text)?.family;
}

/** Whether `text` is a dotted-quad IPv4 address (no leading zeros). */
export function isIpv4(text: string): boolean {
  return typeof text === "string" && parseIpv4(text) !== undefined;
}

/** Whether `text` is an IPv6 address (RFC 4291 text form, no zone). */
export function isIpv6(text: string): boolean {
  return typeof text === "string" && parseIpv6(text) !== undefined;
}

/** The full prefix length of a family (32 or 128). */
export function maxPrefix(family: AddressFamily): number {
  return family === "inet" ? 32 : 128;
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

/** Whether two byte strings (addresses) are equal. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    if (!IPV4_PART.test(parts[i])) return undefined;
    const n = Number(parts[i]);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

function parseIpv6(text: string): Uint8Array | undefined {
  if (text.length < 2 || text.length > 45 || !IPV6_CHARS.test(text)) {
    return undefined;
  }
  let tail4: Uint8Array | undefined;
  let body = text;
  const lastColon = text.lastIndexOf(":");
  if (lastColon < 0) return undefined;
  if (text.includes(".")) {
    // Only the last 32 bits may be written dotted (::ffff:10.0.0.1).
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
      if (!IPV6_GROUP.test(g)) return undefined;
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
