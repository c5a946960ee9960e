/**
 * Network addresses, the one strict parser for them: IPv4 (dotted decimal,
 * four parts, no leading zeros, no hex) and IPv6 (RFC 4291, no zone), CIDRs,
 * RFC 5952 formatting, prefix arithmetic, and DNS host-name syntax.
 * @module
 */
export {
  bytesEqual,
  formatIp,
  ipFamily,
  isIpv4,
  isIpv6,
  maxPrefix,
  parseIp,
  tryParseIp,
} from "./ip_address.ts";
export type { AddressFamily, IpAddress } from "./ip_address.ts";
export {
  cidrContains,
  CidrSyntaxError,
  formatCidr,
  networkOf,
  parseCidr,
} from "./cidr.ts";
export type { Cidr, CidrProblem } from "./cidr.ts";
export { isDnsName } from "./dns_name.ts";
