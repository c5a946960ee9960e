const LABEL = /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;
// A last label a resolver's inet_aton would read as a number: "127.1",
// "0x7f.1", "2130706433" name 127.0.0.1, not a host.
const NUMERIC_LABEL = /^([0-9]+|0[xX][0-9a-fA-F]*)$/;

/**
 * Whether `s` is an RFC 1123 host or domain name (no trailing dot) that no
 * resolver can take for an address: its last label is not all digits or a
 * hex literal (RFC 1123 2.1, RFC 3696 2).
 */
export function isDnsName(s: string): boolean {
  if (typeof s !== "string" || s.length === 0 || s.length > 253) return false;
  const labels = s.split(".");
  return labels.every((l) => LABEL.test(l)) &&
    !NUMERIC_LABEL.test(labels[labels.length - 1]);
}
