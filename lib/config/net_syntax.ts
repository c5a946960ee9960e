import {
  type CidrProblem,
  CidrSyntaxError,
  isDnsName,
  isIpv4,
  isIpv6,
} from "../netaddr/mod.ts";

// The config's own wording of each problem, as its other "invalid X" reports.
const CIDR_PROBLEM: Record<CidrProblem, string> = {
  "missing-prefix": 'missing "/prefix"',
  "bad-address": "bad IP address",
  "bad-prefix": "bad prefix length",
  "prefix-out-of-range": "prefix length out of range",
};

/** The config's report of an error from lib/netaddr's parseCidr(). */
export function cidrMessage(err: unknown): string {
  if (err instanceof CidrSyntaxError) {
    return `invalid CIDR ${quote(err.text)}: ${CIDR_PROBLEM[err.problem]}`;
  }
  return err instanceof Error ? err.message : String(err);
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
