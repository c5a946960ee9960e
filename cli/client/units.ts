/**
 * Human-readable sizes as talosctl prints them (go-humanize's Bytes: SI
 * units, 1000 apart, one decimal below 10).
 * @module
 */

const SI = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];

/** Formats a byte count: "0 B", "999 B", "1.2 kB", "54 MB". */
export function humanBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 10) {
    return `${Math.max(0, Math.trunc(bytes) || 0)} B`;
  }
  const e = Math.min(Math.floor(Math.log10(bytes) / 3), SI.length - 1);
  const value = bytes / 1000 ** e;
  // go-humanize rounds to one decimal first, then drops it at 10 and above.
  const rounded = Math.round(value * 10) / 10;
  return rounded < 10
    ? `${rounded.toFixed(1)} ${SI[e]}`
    : `${Math.round(value)} ${SI[e]}`;
}
