/**
 * The machine config of running nodes: `get machineconfig` (readers and
 * operators see secrets redacted), `patch machineconfig -p PATCH` and
 * `edit machineconfig` ($EDITOR), each node's own config read, changed and
 * applied back to it through ApplyConfiguration in the mode asked.
 * @module
 */
import {
  type ApplyConfigurationRequest,
  MachineConfigResponse,
  MachineServiceService,
} from "../../lib/api/gen/machine/machine.ts";
import {
  applyConfigPatches,
  ConfigValidationError,
  formatProblem,
  machineConfigFromDocuments,
  parseConfigDocuments,
  stringifyConfigDocuments,
} from "../../lib/config/mod.ts";
import type { Command, CommandContext } from "../command.ts";
import { UsageError } from "../command.ts";
import { parseCommandArgs, parseDurationSeconds } from "../client/args.ts";
import { type NodeError, reportNodeErrors } from "../client/output.ts";
import { nodeOf, splitReplies } from "../client/reply.ts";
import { printStructured, withApiClient } from "../client/session.ts";
import type { ApiClient } from "../client/api_client.ts";
import { printApplyReplies } from "./apply_config.ts";
import { loadPatchFlags } from "./_patch_flags.ts";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

const APPLY_FLAGS = {
  mode: { type: "string", short: "m", default: "auto" },
  timeout: { type: "string" },
  "dry-run": { type: "boolean", default: false },
  force: { type: "boolean", default: false },
} as const;

const APPLY_HELP =
  `  -m, --mode MODE     auto (default), no-reboot, reboot, staged or try
      --timeout D     how long a try lasts (30s, 5m)
      --dry-run       print what would happen and the diff; nothing changes
      --force         apply despite another cluster's CA/token or type`;

function applyRequest(
  values: {
    mode?: string;
    timeout?: string;
    "dry-run"?: boolean;
    force?: boolean;
  },
  yaml: string,
): ApplyConfigurationRequest {
  const mode = (values.mode ?? "auto").replaceAll("-", "_");
  if (!["auto", "no_reboot", "reboot", "staged", "try"].includes(mode)) {
    throw new UsageError(
      `--mode ${
        JSON.stringify(values.mode)
      }: want auto, no-reboot, reboot, staged or try`,
    );
  }
  if (values.timeout !== undefined && mode !== "try") {
    throw new UsageError("--timeout is for --mode try");
  }
  return {
    data: encoder.encode(yaml),
    mode,
    dryRun: values["dry-run"] ?? false,
    tryModeTimeoutMs: values.timeout === undefined
      ? 0
      : parseDurationSeconds(values.timeout, "--timeout") * 1000,
    force: values.force ?? false,
    rollback: 0,
  };
}

/** The node names to work on one by one (none given: the endpoint's node). */
function eachNode(ctx: CommandContext): (string | undefined)[] {
  return ctx.globals.nodes.length === 0 ? [undefined] : ctx.globals.nodes;
}

function forNode(
  ctx: CommandContext,
  node: string | undefined,
): CommandContext {
  return node === undefined
    ? ctx
    : { ...ctx, globals: { ...ctx.globals, nodes: [node] } };
}

/** One node's full config (admin: secrets included), or an Error. */
async function fetchConfig(
  api: ApiClient,
  ctx: CommandContext,
  fallback: string,
): Promise<{ node: string; yaml: string }> {
  const reply = await api.unary(MachineServiceService.getMachineConfig, {
    metadata: undefined,
  }, {
    signal: ctx.signal,
  });
  const { good, errors } = splitReplies(reply.messages, fallback);
  if (errors.length > 0) throw new Error(errors[0].error);
  const m = good[0];
  if (!m) throw new Error("the node sent no config");
  if (m.redacted) {
    throw new Error(
      "the node sent its config with secrets redacted: changing it needs the os:admin role",
    );
  }
  return { node: nodeOf(m, fallback), yaml: decoder.decode(m.data) };
}

// ---- get machineconfig ----

const GET_USAGE = `Usage: osctl get machineconfig

Prints each target node's machine config as YAML (a "# NODE" line before
each). Secrets are redacted unless the caller has the os:admin role.`;

async function getRun(args: string[], ctx: CommandContext): Promise<number> {
  const { positionals } = parseCommandArgs(args, {});
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"`);
  }
  return await withApiClient(ctx, async (api) => {
    const reply = await api.unary(MachineServiceService.getMachineConfig, {
      metadata: undefined,
    }, {
      signal: ctx.signal,
    });
    const { good, errors } = splitReplies(reply.messages, api.defaultNode);
    if (!printStructured(ctx, MachineConfigResponse, reply)) {
      for (const m of good) {
        ctx.io.stdout(
          `# NODE ${nodeOf(m, api.defaultNode)}${
            m.redacted ? " (secrets redacted)" : ""
          }\n${decoder.decode(m.data)}`,
        );
      }
    }
    return reportNodeErrors(ctx.io, errors);
  });
}

/** `get machineconfig`. */
export const getMachineconfigCommand: Command = {
  name: "get machineconfig",
  aliases: ["get mc", "get machineconfigs"],
  summary: "print the nodes' machine configs (secrets redacted for non-admins)",
  usage: GET_USAGE,
  run: getRun,
};

// ---- patch machineconfig ----

const PATCH_USAGE =
  `Usage: osctl patch machineconfig -p PATCH [-p PATCH...] [--mode MODE] [--dry-run]

Reads each target node's config, applies the patches in order (as
"machineconfig patch" does offline), checks the result and applies it to
that node.

Flags:
  -p, --patch PATCH   @FILE or the patch itself (repeatable)
${APPLY_HELP}`;

async function patchRun(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    patch: { type: "string", short: "p", multiple: true },
    ...APPLY_FLAGS,
  });
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"`);
  }
  if ((values.patch ?? []).length === 0) {
    throw new UsageError("-p/--patch is required");
  }
  applyRequest(values, ""); // checks the flags before any call
  const patches = await loadPatchFlags(values.patch ?? []);
  const errors: NodeError[] = [];
  for (const node of eachNode(ctx)) {
    const nctx = forNode(ctx, node);
    await withApiClient(nctx, async (api) => {
      const fallback = node ?? api.defaultNode;
      try {
        const current = await fetchConfig(api, nctx, fallback);
        const docs = applyConfigPatches(
          parseConfigDocuments(current.yaml),
          patches,
        );
        machineConfigFromDocuments(docs, "the patched config");
        const reply = await api.unary(
          MachineServiceService.applyConfiguration,
          applyRequest(values, stringifyConfigDocuments(docs)),
          { timeoutMs: 60_000, signal: ctx.signal },
        );
        errors.push(...printApplyReplies(nctx, reply, fallback));
      } catch (err) {
        errors.push({
          node: fallback,
          error: err instanceof Error ? err.message : String(err),
        });
      }
      return 0;
    });
  }
  return reportNodeErrors(ctx.io, errors);
}

/** `patch machineconfig`. */
export const patchMachineconfigCommand: Command = {
  name: "patch machineconfig",
  aliases: ["patch mc"],
  summary: "patch the nodes' machine configs and apply them",
  usage: PATCH_USAGE,
  run: patchRun,
};

// ---- edit machineconfig ----

const EDIT_USAGE = `Usage: osctl edit machineconfig [--mode MODE] [--dry-run]

Opens each target node's config in $EDITOR (default vi), one node after
another. An edit that does not validate is reopened with its problems at
the top; an unchanged config (or an emptied file) applies nothing.

Flags:
${APPLY_HELP}`;

const HEADER_MARK = "# osctl:";

/** Runs the editor on a file; `EDITOR` may carry arguments ("code -w"). */
async function runEditor(path: string, signal: AbortSignal): Promise<void> {
  const editor = Deno.env.get("VISUAL") || Deno.env.get("EDITOR") || "vi";
  const status = await new Deno.Command("sh", {
    args: ["-c", `${editor} "$1"`, "osctl-editor", path],
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
    signal,
  }).spawn().status;
  if (!status.success) {
    throw new Error(
      `the editor ${JSON.stringify(editor)} exited with code ${status.code}`,
    );
  }
}

function withHeader(node: string, yaml: string, problems: string[]): string {
  const lines = [
    `${HEADER_MARK} editing the machine config of node ${node}.`,
    `${HEADER_MARK} lines starting with "${HEADER_MARK}" are ignored; an empty file cancels.`,
    ...problems.map((p) => `${HEADER_MARK} ERROR: ${p}`),
  ];
  return lines.join("\n") + "\n" + yaml;
}

function withoutHeader(text: string): string {
  return text.split("\n").filter((l) => !l.startsWith(HEADER_MARK)).join(
    "\n",
  );
}

/**
 * Edits `yaml` until it validates; returns the new text, or undefined when
 * nothing changed or the file was emptied.
 */
async function editUntilValid(
  ctx: CommandContext,
  node: string,
  yaml: string,
): Promise<string | undefined> {
  const dir = await Deno.makeTempDir({ prefix: "osctl-edit-" });
  const path = `${dir}/machineconfig.yaml`;
  try {
    let text = yaml;
    let problems: string[] = [];
    for (;;) {
      // 0600: the config holds the machine token and the CA key.
      await Deno.writeTextFile(path, withHeader(node, text, problems), {
        mode: 0o600,
      });
      await runEditor(path, ctx.signal);
      const edited = withoutHeader(await Deno.readTextFile(path));
      if (edited.trim() === "") {
        ctx.io.stderr(`${node}: edit cancelled: the file is empty\n`);
        return undefined;
      }
      try {
        const docs = parseConfigDocuments(edited);
        machineConfigFromDocuments(docs, "the edited config");
        if (
          stringifyConfigDocuments(docs) ===
            stringifyConfigDocuments(parseConfigDocuments(yaml))
        ) {
          return undefined;
        }
        return edited;
      } catch (err) {
        if (!(err instanceof ConfigValidationError)) throw err;
        problems = err.problems.map(formatProblem);
        ctx.io.stderr(
          `${node}: the edited config is not valid, reopening:\n${
            problems.map((p) => `  * ${p}`).join("\n")
          }\n`,
        );
        text = edited;
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function editRun(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, APPLY_FLAGS);
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"`);
  }
  applyRequest(values, "");
  const errors: NodeError[] = [];
  for (const node of eachNode(ctx)) {
    const nctx = forNode(ctx, node);
    await withApiClient(nctx, async (api) => {
      const fallback = node ?? api.defaultNode;
      try {
        const current = await fetchConfig(api, nctx, fallback);
        const edited = await editUntilValid(ctx, current.node, current.yaml);
        if (edited === undefined) {
          ctx.io.stdout(`${current.node}: no changes: nothing applied\n`);
          return 0;
        }
        const reply = await api.unary(
          MachineServiceService.applyConfiguration,
          applyRequest(values, edited),
          { timeoutMs: 60_000, signal: ctx.signal },
        );
        errors.push(...printApplyReplies(nctx, reply, fallback));
      } catch (err) {
        errors.push({
          node: fallback,
          error: err instanceof Error ? err.message : String(err),
        });
      }
      return 0;
    });
  }
  return reportNodeErrors(ctx.io, errors);
}

/** `edit machineconfig`. */
export const editMachineconfigCommand: Command = {
  name: "edit machineconfig",
  aliases: ["edit mc"],
  summary: "edit the nodes' machine configs in $EDITOR and apply them",
  usage: EDIT_USAGE,
  run: editRun,
};
