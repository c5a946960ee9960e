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
  ApplyConfigurationResponse,
  MachineServiceService,
} from "../../lib/api/gen/machine/machine.ts";
import { readBoundedFile } from "../../lib/config/mod.ts";
import { TlsChannel } from "../../lib/grpc/mod.ts";
import type { Command, CommandContext } from "../command.ts";
import { UsageError } from "../command.ts";
import { parseCommandArgs } from "../client/args.ts";
import {
  formatTable,
  type NodeError,
  reportNodeErrors,
} from "../client/output.ts";
import { nodeOf, splitReplies } from "../client/reply.ts";
import { printStructured, withApiClient } from "../client/session.ts";

const USAGE =
  `Usage: osctl apply-config -f FILE [--insecure] [--mode auto|reboot|staged|no-reboot] [--dry-run]

Applies a machine config to the target nodes: each validates it (and
reports every problem), saves it, and reboots with it ("auto" and "reboot";
"staged" waits for the next reboot).

Flags:
  -f, --file FILE   the machine config (YAML)
  -m, --mode MODE   auto (default), reboot, staged or no-reboot
      --dry-run     validate only
  -i, --insecure    a node in maintenance mode: encrypted but unverified,
                    no client certificate; dials each of --nodes (IP or
                    IP:PORT, port 50000 by default) or --endpoints directly`;

const MODES = ["auto", "reboot", "staged", "no-reboot", "no_reboot"];

function withPort(target: string): string {
  if (/^\[.*\]:\d+$/.test(target) || /^[^:]+:\d+$/.test(target)) return target;
  if (target.includes(":")) return `[${target.replace(/^\[|\]$/g, "")}]:50000`;
  return `${target}:50000`;
}

function printReplies(
  ctx: CommandContext,
  reply: ApplyConfigurationResponse,
  fallback: string,
): NodeError[] {
  const { good, errors } = splitReplies(reply.messages, fallback);
  if (!printStructured(ctx, ApplyConfigurationResponse, reply)) {
    ctx.io.stdout(formatTable(
      ["NODE", "MODE", "DETAILS"],
      good.map((m: ApplyConfiguration) => [
        nodeOf(m, fallback),
        m.mode,
        m.modeDetails,
      ]),
    ));
    for (const m of good) {
      for (const w of m.warnings) {
        ctx.io.stderr(`WARNING: ${nodeOf(m, fallback)}: ${w}\n`);
      }
    }
  }
  return errors;
}

async function applyInsecure(
  ctx: CommandContext,
  request: { data: Uint8Array; mode: string; dryRun: boolean },
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
      errors.push(...printReplies(ctx, reply, target));
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
  });
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"`);
  }
  if (!values.file) throw new UsageError("--file is required");
  const mode = values.mode ?? "auto";
  if (!MODES.includes(mode)) {
    throw new UsageError(
      `--mode ${JSON.stringify(mode)}: want auto, reboot, staged or no-reboot`,
    );
  }
  const data = await readBoundedFile(values.file, "machine config");
  const request = {
    data,
    mode: mode.replaceAll("-", "_"),
    dryRun: values["dry-run"] ?? false,
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
      printReplies(ctx, reply, api.defaultNode),
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
