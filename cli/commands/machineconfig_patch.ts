/**
 * `osctl machineconfig patch FILE -p PATCH... [-o OUT]`: patches a machine
 * config file offline and validates the result (every problem with its
 * path); the result goes to OUT (mode 0600: a config holds secrets) or to
 * standard output.
 * @module
 */
import {
  applyConfigPatches,
  machineConfigFromDocuments,
  parseConfigDocuments,
  readBoundedFile,
  stringifyConfigDocuments,
} from "../../lib/config/mod.ts";
import { writeFileAtomic } from "../../lib/certdir/mod.ts";
import type { Command, CommandContext } from "../command.ts";
import { UsageError } from "../command.ts";
import { parseCommandArgs } from "../client/args.ts";
import { isConfigProblem, loadPatchFlags } from "./_patch_flags.ts";

const USAGE =
  `Usage: osctl machineconfig patch FILE -p PATCH [-p PATCH...] [-o OUT]

Applies patches, in order, to the machine config FILE and validates the
result. PATCH is @FILE or the patch itself: a strategic merge patch (YAML
documents matched by kind/name; maps merged, lists appended; "$patch: delete"
removes a key or a list item, "$patch: replace" replaces a map or a list) or
an RFC 6902 JSON patch (JSON, or a YAML list of operations).

Flags:
  -p, --patch PATCH   a patch (repeatable)
  -o, --output OUT    write the result to OUT (default: standard output)`;

async function run(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    patch: { type: "string", short: "p", multiple: true },
    output: { type: "string", short: "o" },
  });
  if (positionals.length !== 1) throw new UsageError("expected one FILE");
  const patchFlags = values.patch ?? [];
  if (patchFlags.length === 0) throw new UsageError("-p/--patch is required");
  const [file] = positionals;
  try {
    const patches = await loadPatchFlags(patchFlags);
    const docs = applyConfigPatches(
      parseConfigDocuments(await readBoundedFile(file, "machine config"), file),
      patches,
    );
    machineConfigFromDocuments(docs, "the patched config");
    const text = stringifyConfigDocuments(docs);
    if (values.output === undefined) ctx.io.stdout(text);
    else await writeFileAtomic(values.output, text, 0o600);
    return 0;
  } catch (err) {
    if (!isConfigProblem(err) && !(err instanceof Error)) throw err;
    ctx.io.stderr(`osctl machineconfig patch: ${(err as Error).message}\n`);
    return 1;
  }
}

/** The `machineconfig patch` command. */
export const machineconfigPatchCommand: Command = {
  name: "machineconfig patch",
  summary: "patch a machine config file offline",
  usage: USAGE,
  localFlags: ["-o", "--output"],
  run,
};
