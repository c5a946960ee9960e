/**
 * How osctl prints API answers: tab-aligned tables with NODE first, protobuf
 * JSON or YAML of the whole reply, and the per-node error warning.
 * @module
 */
import type { CliIO } from "../command.ts";
import { cleanMessage } from "./errors.ts";

/** A node that answered with an error. */
export interface NodeError {
  /** The node as named (metadata.hostname). */
  node: string;
  /** What went wrong. */
  error: string;
}

/**
 * Formats rows as columns separated by at least three spaces (Go's
 * tabwriter with padding 3, as talosctl prints).
 */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) =>
    Math.max(...all.map((r) => (r[i] ?? "").length))
  );
  return all.map((r) =>
    r.map((cell, i) =>
      i === r.length - 1 ? cell : (cell ?? "").padEnd(widths[i] + 3)
    ).join("").trimEnd()
  ).join("\n") + "\n";
}

/**
 * Prints the per-node errors to stderr as talosctl did in the apid fan-out
 * era, and returns the exit code: 1 when any node failed, else 0.
 */
export function reportNodeErrors(
  io: CliIO,
  errors: readonly NodeError[],
): number {
  if (errors.length === 0) return 0;
  const lines = errors.map((e) => ` * ${e.node}: ${cleanMessage(e.error)}`);
  io.stderr(
    `WARNING: ${errors.length} error(s) occurred:\n${lines.join("\n")}\n`,
  );
  return 1;
}

/** A duration rounded to the second, as Go prints it: "45s", "1m5s", "2h0m3s". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) ms = 0;
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}
