import {
  bytesEqual,
  formatIp,
  type IpAddress,
  maxPrefix,
  tryParseIp,
} from "./ip_address.ts";

/** A parsed CIDR: an address and a prefix length. */
export interface Cidr extends IpAddress {
  /** Prefix length, 0..32 or 0..128. */
  prefix: number;
}

/** What is wrong with a CIDR's text. */
export type CidrProblem =
  | "missing-prefix"
  | "bad-address"
  | "bad-prefix"
  | "prefix-out-of-range";

const PROBLEM_TEXT: Record<CidrProblem, string> = {
  "missing-prefix": 'missing "/prefix"',
  "bad-address": "bad address",
  "bad-prefix": "prefix length is not a number (decimal, no leading zeros)",
  "prefix-out-of-range": "prefix length out of range",
};

/** A text that is not "address/prefix"; `problem` says what is wrong. */
export class CidrSyntaxError extends Error {
  /** The text that failed to parse. */
  readonly text: string;
  /** What is wrong with it. */
  readonly problem: CidrProblem;

  /** Makes the error for `text` and its problem. */
  constructor(text: string, problem: CidrProblem, options?: ErrorOptions) {
    super(
      `Cannot parse CIDR ${JSON.stringify(text)}: ${PROBLEM_TEXT[problem]}`,
      options,
    );
    this.name = "CidrSyntaxError";
    this.text = text;
    this.problem = problem;
  }
}

/** Parses "addr/prefix"; throws a CidrSyntaxError naming the text and why. */
export function parseCidr(text: string): Cidr {
  if (typeof text !== "string") {
    throw new Error(`Cannot parse CIDR ${JSON.stringify(text)}: not a string`);
  }
  const slash = text.indexOf("/");
  if (slash < 0) throw new CidrSyntaxError(text, "missing-prefix");
  const addrText = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  const ip = tryParseIp(addrText);
  if (!ip) {
    throw new CidrSyntaxError(text, "bad-address", {
      cause: new Error(
        `${JSON.stringify(addrText)} is not an IPv4 or IPv6 address`,
      ),
    });
  }
  if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText)) {
    throw new CidrSyntaxError(text, "bad-prefix");
  }
  const prefix = Number(prefixText);
  if (prefix > maxPrefix(ip.family)) {
    throw new CidrSyntaxError(text, "prefix-out-of-range");
  }
  return { ...ip, prefix };
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

/** Whether `ip` lies inside `cidr` (same family). */
export function cidrContains(cidr: Cidr, ip: IpAddress): boolean {
  if (cidr.family !== ip.family) return false;
  const net = networkOf(cidr);
  const other = networkOf({ ...ip, prefix: cidr.prefix });
  return bytesEqual(net.bytes, other.bytes);
}
