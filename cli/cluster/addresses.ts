/** A parsed IPv4 CIDR. */
export interface Ipv4Cidr {
  /** Network address as a 32-bit number. */
  network: number;
  /** Prefix length. */
  prefix: number;
}

/** Parses "a.b.c.d" into a 32-bit number; throws naming the value. */
export function parseIpv4(text: string): number {
  const parts = text.split(".");
  if (
    parts.length !== 4 ||
    parts.some((p) => !/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255)
  ) {
    throw new Error(`Cannot parse IPv4 address "${text}"`);
  }
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

/** Formats a 32-bit number as dotted IPv4. */
export function formatIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/** Parses "a.b.c.d/n"; throws naming the value and what is wrong. */
export function parseCidr(text: string): Ipv4Cidr {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(text);
  if (!m) {
    throw new Error(`Cannot parse CIDR "${text}": expected address/prefix`);
  }
  const addr = parseIpv4(m[1]);
  const prefix = Number(m[2]);
  if (prefix > 32) {
    throw new Error(`Cannot parse CIDR "${text}": prefix length out of range`);
  }
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return { network: (addr & mask) >>> 0, prefix };
}

/**
 * The addresses of a local cluster's nodes: .2, .3, ... of the CIDR, as Talos
 * does (.1 is the gateway). Process-mode nodes bind to these, so the CIDR must
 * be inside 127.0.0.0/8 and have room for every node.
 */
export function nodeAddresses(cidr: string, count: number): string[] {
  const c = parseCidr(cidr);
  if ((c.network >>> 24) !== 127) {
    throw new Error(
      `Cannot use CIDR "${cidr}": process-mode nodes need a loopback range inside 127.0.0.0/8`,
    );
  }
  if (!Number.isInteger(count) || count < 1 || count > 64) {
    throw new Error(`Cannot make ${count} nodes: choose 1 to 64`);
  }
  const size = 2 ** (32 - c.prefix);
  if (count + 2 >= size) {
    throw new Error(
      `Cannot fit ${count} nodes in "${cidr}": it has ${
        Math.max(0, size - 3)
      } usable addresses`,
    );
  }
  return Array.from({ length: count }, (_, i) => formatIpv4(c.network + 2 + i));
}
