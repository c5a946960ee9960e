import { isDnsName } from "../netaddr/mod.ts";
import { x509 } from "./_x509.ts";

/** A subject Name with CN and O values (no string escaping pitfalls). */
export function subjectName(
  commonName: string,
  organizations: readonly string[] = [],
): x509.Name {
  const json: Record<string, string[]>[] = [];
  for (const o of organizations) json.push({ O: [o] });
  json.push({ CN: [commonName] });
  return new x509.Name(json);
}

/** A SAN extension for DNS names and IPs, or undefined when there are none. */
export function subjectAltNames(
  dnsNames: readonly string[] = [],
  ipAddresses: readonly string[] = [],
): x509.SubjectAlternativeNameExtension | undefined {
  for (const d of dnsNames) {
    if (!isDnsName(d)) throw new Error(`Invalid DNS SAN ${JSON.stringify(d)}`);
  }
  const names = [
    ...dnsNames.map((value) => ({ type: "dns" as const, value })),
    ...ipAddresses.map((value) => ({ type: "ip" as const, value })),
  ];
  if (names.length === 0) return undefined;
  try {
    return new x509.SubjectAlternativeNameExtension(names, false);
  } catch (cause) {
    throw new Error(
      `Invalid IP SAN in ${JSON.stringify(ipAddresses)}`,
      { cause },
    );
  }
}
