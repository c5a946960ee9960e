/**
 * `osctl apply-config -f FILE [--insecure] [--mode auto] [--dry-run]`: sends
 * a machine config to the target nodes (ApplyConfiguration), which validate
 * it (every problem is reported), save it and reboot with it. `--insecure`
 * talks to a node in maintenance mode: server-only TLS whose certificate
 * is not verified (the node made it at boot and printed its fingerprint),
 * no client certificate and no client config needed.
 * @module
 */
import {
  type ApplyConfiguration,
  type ApplyConfigurationRequest,
  ApplyConfigurationResponse,
  MachineServiceService,
} from "../../lib/api/gen/machine/machine.ts";
import { readBoundedFile } from "../../lib/config/mod.ts";
import { TlsChannel } from "../../lib/grpc/mod.ts";
import type { Command, CommandContext } from "../command.ts";
import { UsageError } from "../command.ts";
import { parseCommandArgs, parseDurationSeconds } from "../client/args.ts";
import {
  formatTable,
  type NodeError,
  reportNodeErrors,
} from "../client/output.ts";
import { nodeOf, splitReplies } from "../client/reply.ts";
import { printStructured, withApiClient } from "../client/session.ts";

const USAGE =
  `Usage: osctl apply-config -f FILE [--mode MODE] [--timeout D] [--dry-run] [--force] [--insecure]
       osctl apply-config --rollback [N] [--mode MODE] [--dry-run]

Applies a machine config to each target node, which validates it (every
problem is reported), checks it is of its own cluster and machine type, and
applies it in the mode asked:
  auto       live when every changed field can change live, else a reboot
  no-reboot  live, or refused naming each field that needs a reboot
  reboot     saved, then the node reboots with it
  staged     saved for the next reboot (shown as pending in config history)
  try        live for --timeout (default 1m), then reverted unless another
             apply confirms it
Each node answers for itself (a NODE column).

Flags:
  -f, --file FILE     the machine config (YAML)
  -m, --mode MODE     auto (default), no-reboot, reboot, staged or try
      --timeout D     how long a try lasts (30s, 5m, 1h)
      --dry-run       print what would happen and the diff (secrets
                      redacted); nothing changes
      --force         apply a config of another cluster (CA or token
                      differ) or of another machine type
      --rollback [N]  re-apply the config accepted N accepts ago (default
                      1: the one before the current), from the node's history
  -i, --insecure      a node in maintenance mode: encrypted but unverified,
                      no client certificate; dials each of --nodes (IP or
                      IP:PORT, port 50000 by default) or --endpoints directly`;

const MODES = ["auto", "reboot", "staged", "no-reboot", "no_reboot", "try"];

function withPort(target: string): string {
  if (/^\[.*\]:\d+$/.test(target) || /^[^:]+:\d+$/.test(target)) return target;
  if (target.includes(":")) return `[${target.replace(/^\[|\]$/g, "")}]:50000`;
  return `${target}:50000`;
}

/** Prints ApplyConfiguration answers (a table, or one block per node for multi-line details); returns the failed nodes. */
export function printApplyReplies(
  ctx: CommandContext,
  reply: ApplyConfigurationResponse,
  fallback: string,
): NodeError[] {
  const { good, errors } = splitReplies(reply.messages, fallback);
  if (printStructured(ctx, ApplyConfigurationResponse, reply)) return errors;
  if (good.some((m) => m.modeDetails.includes("\n"))) {
    // Dry runs: several lines (the diff) per node, one block each.
    for (const m of good) {
      ctx.io.stdout(`NODE ${nodeOf(m, fallback)}\n${m.modeDetails}\n`);
      if (!m.modeDetails.endsWith("\n")) ctx.io.stdout("\n");
    }
  } else {
    ctx.io.stdout(formatTable(
      ["NODE", "MODE", "DETAILS"],
      good.map((m: ApplyConfiguration) => [
        nodeOf(m, fallback),
        m.mode,
        m.modeDetails,
      ]),
    ));
  }
  for (const m of good) {
    for (const w of m.warnings) {
      ctx.io.stderr(`WARNING: ${nodeOf(m, fallback)}: ${w}\n`);
    }
  }
  return errors;
}

async function applyInsecure(
  ctx: CommandContext,
  request: ApplyConfigurationRequest,
): Promise<number> {
  const targets = ctx.globals.endpoints.length > 0
    ? ctx.globals.endpoints
    : ctx.globals.nodes;
  if (targets.length === 0) {
    throw new UsageError("--insecure needs the node: -n IP (or -e IP:PORT)");
  }
  const errors: NodeError[] = [];
  for (const target of targets) {
    const channel = new TlsChannel(withPort(target), {
      ca: "",
      insecureSkipVerify: true,
    });
    try {
      const reply = await channel.unary(
        MachineServiceService.applyConfiguration,
        request,
        { timeoutMs: 60_000, signal: ctx.signal },
      );
      errors.push(...printApplyReplies(ctx, reply, target));
    } catch (err) {
      errors.push({
        node: target,
        error: err instanceof Error ? err.message : String(err),
      });
    } finally {
      channel.close();
    }
  }
  return reportNodeErrors(ctx.io, errors);
}

async function run(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    file: { type: "string", short: "f" },
    mode: { type: "string", short: "m", default: "auto" },
    "dry-run": { type: "boolean", default: false },
    insecure: { type: "boolean", short: "i", default: false },
    timeout: { type: "string" },
    force: { type: "boolean", default: false },
    rollback: { type: "boolean", default: false },
  });
  let rollback = 0;
  if (values.rollback) {
    const n = positionals.shift() ?? "1";
    if (!/^[1-9][0-9]{0,1}$/.test(n)) {
      throw new UsageError(
        `--rollback ${JSON.stringify(n)}: want how many accepts back (1-15)`,
      );
    }
    rollback = Number(n);
    if (values.file) {
      throw new UsageError("give --file or --rollback, not both");
    }
  } else if (!values.file) throw new UsageError("--file is required");
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"`);
  }
  const mode = values.mode ?? "auto";
  if (!MODES.includes(mode)) {
    throw new UsageError(
      `--mode ${
        JSON.stringify(mode)
      }: want auto, no-reboot, reboot, staged or try`,
    );
  }
  let tryMs = 0;
  if (values.timeout !== undefined) {
    if (mode !== "try") throw new UsageError("--timeout is for --mode try");
    tryMs = parseDurationSeconds(values.timeout, "--timeout") * 1000;
  }
  const request: ApplyConfigurationRequest = {
    data: values.file
      ? await readBoundedFile(values.file, "machine config")
      : new Uint8Array(),
    mode: mode.replaceAll("-", "_"),
    dryRun: values["dry-run"] ?? false,
    tryModeTimeoutMs: tryMs,
    force: values.force ?? false,
    rollback,
  };
  if (values.insecure) return await applyInsecure(ctx, request);
  return await withApiClient(ctx, async (api) => {
    const reply = await api.unary(
      MachineServiceService.applyConfiguration,
      request,
      { timeoutMs: 60_000, signal: ctx.signal },
    );
    return reportNodeErrors(
      ctx.io,
      printApplyReplies(ctx, reply, api.defaultNode),
    );
  });
}

/** The apply-config command. */
export const applyConfigCommand: Command = {
  name: "apply-config",
  summary: "Apply a machine config to nodes (--insecure: maintenance mode)",
  usage: USAGE,
  run,
};
