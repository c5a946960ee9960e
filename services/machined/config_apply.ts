/**
 * What an ApplyConfiguration would do, decided before anything changes:
 * the fields that differ from the running config, which of them can be
 * applied live, the refusals (another cluster's config, a machine type
 * change: both unless forced), the outcome of each mode, and the diff
 * (secrets redacted) a dry run prints.
 * @module
 */
import { ApiError } from "../../lib/api_error/mod.ts";
import { configDiff, type MachineConfig } from "../../lib/config/mod.ts";
import type { ApplyMode } from "./apply_config.ts";

/**
 * Config fields applied without a reboot (jq-like paths): the hostname, the
 * log level and the certificates' SANs by machined, the links' addresses,
 * routes and MTU and the resolvers by networkd's reconciler; the release
 * keys Upgrade trusts are read at each call.
 */
export const LIVE_FIELDS: readonly string[] = [
  ".machine.network.hostname",
  ".machine.logging.level",
  ".machine.certSANs",
  ".machine.network.interfaces",
  ".machine.network.nameservers",
  ".machine.install.trustedKeys",
];

/** How an accepted apply takes effect. */
export type ApplyOutcome =
  | "unchanged" // nothing differs: recorded, nothing to do
  | "live" // applied to the running node and stored
  | "reboot" // stored, then the node reboots with it
  | "staged" // stored for the next boot
  | "try"; // applied live, not stored, reverted unless confirmed

/** The decision for one ApplyConfiguration. */
export interface ApplyPlan {
  /** What happens. */
  outcome: ApplyOutcome;
  /** The mode as Talos names the chosen one ("auto(no_reboot)", "staged"...). */
  mode: string;
  /** Every changed field (jq-like path), sorted. */
  changed: string[];
  /** The changed fields that need a reboot. */
  needsReboot: string[];
  /** The diff of the running and the new config, secrets redacted ("" if none). */
  diff: string;
  /** Warnings for the reply (forced refusals). */
  warnings: string[];
}

type Leaves = Map<string, string>;

function leaves(v: unknown, path: string, out: Leaves): Leaves {
  if (typeof v === "object" && v !== null && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) leaves(x, `${path}.${k}`, out);
  } else if (v !== undefined) {
    // Lists are one field: an address added to a link changes ".addresses".
    out.set(path, JSON.stringify(v));
  }
  return out;
}

/** The fields (jq-like leaf paths; lists whole) where two configs differ. */
export function changedFields(a: MachineConfig, b: MachineConfig): string[] {
  const la = leaves(a, "", new Map());
  const lb = leaves(b, "", new Map());
  const out = new Set<string>();
  for (const [k, v] of la) if (lb.get(k) !== v) out.add(k);
  for (const k of lb.keys()) if (!la.has(k)) out.add(k);
  return [...out].sort();
}

/** Why `next` may not replace `running` without force (empty: it may). */
export function refusals(
  running: MachineConfig,
  next: MachineConfig,
): string[] {
  const out: string[] = [];
  const other: string[] = [];
  if (running.machine.ca.crt !== next.machine.ca.crt) {
    other.push("machine.ca.crt");
  }
  if (running.machine.token !== next.machine.token) other.push("machine.token");
  if (other.length > 0) {
    out.push(
      `the config belongs to another cluster: ${other.join(" and ")} ${
        other.length === 1 ? "differs" : "differ"
      } from this node's`,
    );
  }
  if (running.machine.type !== next.machine.type) {
    out.push(
      `machine.type would change from ${running.machine.type} to ${next.machine.type}`,
    );
  }
  return out;
}

/** Options of {@linkcode planApply}. */
export interface PlanOptions {
  /** The requested mode. */
  mode: ApplyMode;
  /** Apply despite refusals (they become warnings). */
  force: boolean;
}

/**
 * Decides an apply of `next` over the running config. Throws ApiError:
 * FailedPrecondition for a refusal without force, InvalidArgument for
 * no-reboot or try with a field that needs a reboot (each one named).
 */
export function planApply(
  running: MachineConfig,
  next: MachineConfig,
  options: PlanOptions,
): ApplyPlan {
  const refused = refusals(running, next);
  if (refused.length > 0 && !options.force) {
    throw new ApiError(
      "FailedPrecondition",
      `refusing the config: ${
        refused.join("; ")
      } (use --force to apply it anyway)`,
    );
  }
  const changed = changedFields(running, next);
  const needsReboot = changed.filter((f) => !LIVE_FIELDS.includes(f));
  const diff = configDiff([running], [next]);
  const plan = (outcome: ApplyOutcome, mode: string): ApplyPlan => ({
    outcome,
    mode,
    changed,
    needsReboot,
    diff,
    warnings: refused.map((r) => `forced: ${r}`),
  });
  const liveOnly = (mode: string) => {
    if (needsReboot.length > 0) {
      throw new ApiError(
        "InvalidArgument",
        `the config cannot be applied ${
          mode === "try" ? "in try mode" : "without a reboot"
        }: ${needsReboot.map((f) => `${f} needs a reboot`).join(", ")}`,
      );
    }
  };
  switch (options.mode) {
    case "staged":
      return plan("staged", "staged");
    case "reboot":
      return plan("reboot", "reboot");
    case "try":
      liveOnly("try");
      return plan("try", "try");
    case "no_reboot":
      liveOnly("no_reboot");
      return plan(changed.length === 0 ? "unchanged" : "live", "no_reboot");
    case "auto":
      if (changed.length === 0) return plan("unchanged", "auto(no_reboot)");
      return needsReboot.length === 0
        ? plan("live", "auto(no_reboot)")
        : plan("reboot", "auto(reboot)");
  }
}

/** The reply text of an applied (or dry-run) plan, as Talos words it. */
export function planDetails(
  plan: ApplyPlan,
  options: { dryRun: boolean; tryTimeoutMs?: number },
): string {
  let details: string;
  switch (plan.outcome) {
    case "unchanged":
      details = "No changes: the config is the one the node runs";
      break;
    case "live":
      details = `Applied configuration without a reboot (${
        plan.changed.join(", ")
      })`;
      break;
    case "reboot":
      details = plan.needsReboot.length > 0
        ? `Applied configuration with a reboot: ${
          plan.needsReboot.join(", ")
        } ${plan.needsReboot.length === 1 ? "needs" : "need"} one`
        : "Applied configuration with a reboot";
      break;
    case "staged":
      details = "Staged configuration to be applied after the next reboot";
      break;
    case "try":
      details = `Applied configuration without a reboot (${
        plan.changed.join(", ") || "no changes"
      }): it will be automatically reverted back in ${
        formatDuration(options.tryTimeoutMs ?? 60_000)
      } unless confirmed by another apply`;
      break;
  }
  if (!options.dryRun) return details;
  return `Dry run summary:\n${details} (skipped in dry-run).\n\nConfig diff:\n\n${
    plan.diff === "" ? "No changes." : plan.diff
  }`;
}

/** "1m0s", "30s", "1h2m3s" (Go's Duration.String for whole seconds). */
export function formatDuration(ms: number): string {
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}
