import {
  type Cidr,
  CidrSyntaxError,
  parseCidr,
} from "../../lib/netaddr/mod.ts";

/** A parsed IPv4 CIDR. */
export interface Ipv4Cidr {
  /** Network address as a 32-bit number. */
  network: number;
  /** Prefix length. */
  prefix: number;
}

/** Formats a 32-bit number as dotted IPv4. */
export function formatIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/**
 * Parses "a.b.c.d/n" (lib/netaddr's parser, IPv4 only) into its network as a
 * number; throws naming the value and what is wrong.
 */
export function parseIpv4Cidr(text: string): Ipv4Cidr {
  const badAddress = (cause?: unknown) =>
    new Error(
      `Cannot parse IPv4 address "${text.slice(0, text.indexOf("/"))}"`,
      { cause },
    );
  let cidr: Cidr;
  try {
    cidr = parseCidr(text);
  } catch (err) {
    if (!(err instanceof CidrSyntaxError)) throw err;
    if (err.problem === "bad-address") throw badAddress(err);
    if (err.problem === "prefix-out-of-range") throw err;
    throw new Error(`Cannot parse CIDR "${text}": expected address/prefix`, {
      cause: err,
    });
  }
  if (cidr.family !== "inet") throw badAddress();
  const addr = cidr.bytes.reduce((acc, b) => acc * 256 + b, 0);
  const mask = cidr.prefix === 0 ? 0 : (0xffffffff << (32 - cidr.prefix)) >>> 0;
  return { network: (addr & mask) >>> 0, prefix: cidr.prefix };
}

/**
 * The addresses of a local cluster's nodes: .2, .3, ... of the CIDR, as Talos
 * does (.1 is the gateway). Process-mode nodes bind to these, so the CIDR must
 * be inside 127.0.0.0/8 and have room for every node.
 */
export function nodeAddresses(cidr: string, count: number): string[] {
  const c = parseIpv4Cidr(cidr);
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
