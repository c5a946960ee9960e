import type { MachineConfig } from "../../../lib/config/mod.ts";
import { ipFamily } from "../../../lib/netaddr/mod.ts";
import { NODE_SERVER_NAME } from "../../../lib/certdir/mod.ts";

/** The identity a node's server certificates carry. */
export interface NodeIdentity {
  /** Subject CN: the hostname. */
  commonName: string;
  /** DNS SANs: the fixed node name, the hostname, DNS certSANs. */
  dnsNames: string[];
  /** IP SANs: the node's addresses and IP certSANs. */
  ipAddresses: string[];
}

/** Builds the node identity from config, addresses and hostname (sorted, deduplicated). */
export function nodeIdentity(
  config: MachineConfig,
  addresses: readonly string[],
  hostname: string,
): NodeIdentity {
  const dns = new Set<string>([NODE_SERVER_NAME]);
  const ips = new Set<string>();
  if (hostname !== "") dns.add(hostname);
  for (const a of addresses) ips.add(a);
  for (const san of config.machine.certSANs ?? []) {
    if (ipFamily(san) !== undefined) ips.add(san);
    else dns.add(san);
  }
  return {
    commonName: hostname || NODE_SERVER_NAME,
    dnsNames: [...dns].sort(),
    ipAddresses: [...ips].sort(),
  };
}
