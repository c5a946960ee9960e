/** An IP address family. */
export type IpFamily = 4 | 6;

const IPV4_OCTET = /^(0|[1-9][0-9]{0,2})$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/** Whether `s` is a dotted-quad IPv4 address (no leading zeros). */
export function isIpv4(s: string): boolean {
  const parts = s.split(".");
  return parts.length === 4 &&
    parts.every((p) => IPV4_OCTET.test(p) && Number(p) <= 255);
}

/** Whether `s` is an IPv6 address (RFC 4291 text form, no zone). */
export function isIpv6(s: string): boolean {
  if (s.length < 2 || s.length > 45) return false;
  let groups = 0;
  let rest = s;
  const lastColon = rest.lastIndexOf(":");
  if (lastColon >= 0 && rest.includes(".", lastColon)) {
    if (!isIpv4(rest.slice(lastColon + 1))) return false;
    rest = rest.slice(0, lastColon + 1) + "0:0";
  }
  const halves = rest.split("::");
  if (halves.length > 2) return false;
  for (const half of halves) {
    if (half === "") continue;
    for (const g of half.split(":")) {
      if (!HEX_GROUP.test(g)) return false;
      groups++;
    }
  }
  return halves.length === 2 ? groups <= 7 : groups === 8;
}

/** The family of an IP address, or undefined if `s` is not one. */
export function ipFamily(s: string): IpFamily | undefined {
  if (isIpv4(s)) return 4;
  if (isIpv6(s)) return 6;
  return undefined;
}

/** A parsed CIDR prefix ("10.5.0.2/24"). */
export interface Cidr {
  /** The address part as written. */
  address: string;
  /** The prefix length. */
  prefix: number;
  /** The address family. */
  family: IpFamily;
}

/** Parses "address/prefix"; throws an Error saying what is wrong. */
export function parseCidr(s: string): Cidr {
  const slash = s.indexOf("/");
  if (slash < 0) {
    throw new Error(`invalid CIDR ${quote(s)}: missing "/prefix"`);
  }
  const address = s.slice(0, slash);
  const bits = s.slice(slash + 1);
  const family = ipFamily(address);
  if (family === undefined) {
    throw new Error(`invalid CIDR ${quote(s)}: bad IP address`);
  }
  if (!/^(0|[1-9][0-9]{0,2})$/.test(bits)) {
    throw new Error(`invalid CIDR ${quote(s)}: bad prefix length`);
  }
  const prefix = Number(bits);
  if (prefix > (family === 4 ? 32 : 128)) {
    throw new Error(`invalid CIDR ${quote(s)}: prefix length out of range`);
  }
  return { address, prefix, family };
}

const LABEL = /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;

/** Whether `s` is an RFC 1123 host or domain name (FQDN allowed, no trailing dot). */
export function isDnsName(s: string): boolean {
  if (s.length === 0 || s.length > 253) return false;
  return s.split(".").every((l) => LABEL.test(l));
}

/** A control-plane endpoint split into host and optional port. */
export interface Endpoint {
  /** IP address or DNS name (IPv6 without brackets). */
  host: string;
  /** The port, if one was given. */
  port?: number;
}

/**
 * Parses a control-plane endpoint: "https://host[:port][/]", "host[:port]",
 * "[v6]:port" or a bare IP/name. Throws an Error saying what is wrong.
 */
export function parseEndpoint(s: string): Endpoint {
  let rest = s;
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(rest);
  if (scheme) {
    if (scheme[1].toLowerCase() !== "https") {
      throw new Error(
        `invalid endpoint ${quote(s)}: scheme must be "https", got ${
          quote(scheme[1])
        }`,
      );
    }
    rest = rest.slice(scheme[0].length);
    if (rest.endsWith("/")) rest = rest.slice(0, -1);
  }
  let host: string;
  let portText: string | undefined;
  if (rest.startsWith("[")) {
    const close = rest.indexOf("]");
    if (close < 0) throw new Error(`invalid endpoint ${quote(s)}: missing "]"`);
    host = rest.slice(1, close);
    const after = rest.slice(close + 1);
    if (after !== "") {
      if (!after.startsWith(":")) {
        throw new Error(`invalid endpoint ${quote(s)}: junk after "]"`);
      }
      portText = after.slice(1);
    }
    if (!isIpv6(host)) {
      throw new Error(`invalid endpoint ${quote(s)}: bad IPv6 address`);
    }
  } else if (isIpv6(rest)) {
    host = rest;
  } else {
    const colon = rest.lastIndexOf(":");
    host = colon >= 0 ? rest.slice(0, colon) : rest;
    portText = colon >= 0 ? rest.slice(colon + 1) : undefined;
    if (!isIpv4(host) && !isDnsName(host)) {
      throw new Error(`invalid endpoint ${quote(s)}: bad host ${quote(host)}`);
    }
  }
  if (portText === undefined) return { host };
  if (!/^[1-9][0-9]{0,4}$/.test(portText) || Number(portText) > 65535) {
    throw new Error(
      `invalid endpoint ${quote(s)}: bad port ${quote(portText)}`,
    );
  }
  return { host, port: Number(portText) };
}

/** JSON-quotes a value for an error message, shortened to 80 characters. */
export function quote(v: unknown): string {
  const s = typeof v === "string" ? v : String(v);
  return JSON.stringify(s.length > 80 ? s.slice(0, 77) + "..." : s);
}
