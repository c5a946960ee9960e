/**
 * The file commands: `osctl ls` (`list`), `osctl read`, `osctl usage` (`du`)
 * and `osctl cp`, over the node's allowed roots (its state folder, /proc,
 * /sys; `osctl ls` alone lists them). Read and cp need os:admin.
 * @module
 */
import {
  DiskUsageInfo,
  DiskUsageRequest,
  FileInfo,
  ListRequest,
  ListRequest_Type,
  MachineServiceService,
} from "../../lib/api/gen/machine/machine.ts";
import { goFileModeString } from "../../lib/api/mod.ts";
import type { Command, CommandContext } from "../command.ts";
import { UsageError } from "../command.ts";
import { parseCommandArgs, parseIntFlag } from "../client/args.ts";
import { forEachNodeMessage } from "../client/merged_stream.ts";
import {
  formatTable,
  type NodeError,
  reportNodeErrors,
} from "../client/output.ts";
import { nodeOf } from "../client/reply.ts";
import { extractTarGz } from "../client/tar_extract.ts";
import { printStructuredLine, withApiClient } from "../client/session.ts";
import { humanBytes } from "../client/units.ts";

const LIST_USAGE = `Usage: osctl ls [PATH] [-l] [-r] [-d N] [-t f|d|l]... [-H]
       osctl list ...

Lists a folder of every target node. Only the node's allowed roots are
served (its state folder, /proc, /sys); without PATH, or with /, lists them.

Flags:
  -l, --long        mode, owner, size and modification time too
  -r, --recurse     walk into subfolders (symlinks are shown, not followed)
  -d, --depth N     with -r, at most N levels (0: no limit, the default)
  -t, --type T      only entries of type f (file), d (folder) or l (symlink);
                    repeatable
  -H, --humanize    sizes in kB, MB, ... and times as dates`;

const TYPE_NAMES: Readonly<Record<string, ListRequest_Type>> = {
  f: ListRequest_Type.REGULAR,
  d: ListRequest_Type.DIRECTORY,
  l: ListRequest_Type.SYMLINK,
};

function onePath(positionals: string[], what: string): string | undefined {
  if (positionals.length > 1) {
    throw new UsageError(`unexpected argument "${positionals[1]}"`);
  }
  const p = positionals[0];
  if (p !== undefined && !p.startsWith("/")) {
    throw new UsageError(`${what} ${JSON.stringify(p)} must be absolute`);
  }
  return p;
}

/** One `ls -l` row. */
export function longRow(
  node: string,
  f: FileInfo,
  humanize: boolean,
): string[] {
  const name = f.link ? `${f.relativeName} -> ${f.link}` : f.relativeName;
  const modified = new Date(f.modified * 1000);
  return [
    node,
    goFileModeString(f.mode),
    String(f.uid),
    String(f.gid),
    humanize ? humanBytes(f.size) : String(f.size),
    humanize
      ? modified.toUTCString()
      : modified.toISOString().replace(/\.000Z$/, "Z"),
    name,
  ];
}

async function listRun(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    long: { type: "boolean", short: "l", default: false },
    recurse: { type: "boolean", short: "r", default: false },
    depth: { type: "string", short: "d" },
    type: { type: "string", short: "t", multiple: true },
    humanize: { type: "boolean", short: "H", default: false },
  });
  const root = onePath(positionals, "path") ?? "/";
  const depth = parseIntFlag(values.depth, "--depth", 0);
  if (depth < 0) throw new UsageError("--depth must be 0 or more");
  const types = (values.type ?? []).flatMap((t) => t.split(",")).map((t) => {
    const v = TYPE_NAMES[t.trim()];
    if (v === undefined) {
      throw new UsageError(
        `--type ${JSON.stringify(t)}: want f (file), d (folder) or l (symlink)`,
      );
    }
    return v;
  });
  const request = ListRequest.fromPartial({
    root,
    recurse: values.recurse,
    recursionDepth: depth,
    types,
  });
  return await withApiClient(ctx, async (api) => {
    const rows: string[][] = [];
    const errors = await forEachNodeMessage(
      ctx,
      api,
      api.stream(MachineServiceService.list, request, { signal: ctx.signal }),
      (node, f) => {
        if (printStructuredLine(ctx, FileInfo, f)) return;
        if (f.error) {
          ctx.io.stderr(`error listing ${f.name} on ${node}: ${f.error}\n`);
          return;
        }
        rows.push(
          values.long
            ? longRow(node, f, values.humanize)
            : [node, f.relativeName],
        );
      },
    );
    if (ctx.globals.output === "table") {
      ctx.io.stdout(formatTable(
        values.long
          ? ["NODE", "MODE", "UID", "GID", "SIZE(B)", "LASTMOD", "NAME"]
          : ["NODE", "NAME"],
        rows,
      ));
    }
    return reportNodeErrors(ctx.io, errors);
  });
}

/** The ls command (alias: list). */
export const listCommand: Command = {
  name: "ls",
  aliases: ["list"],
  summary: "List a folder of nodes (their allowed roots)",
  usage: LIST_USAGE,
  run: listRun,
};

const READ_USAGE = `Usage: osctl read PATH

Prints a file of one node (use -n to pick it when the context names
several). Only the node's allowed roots are served (its state folder, /proc,
/sys), e.g. osctl read /proc/sys/kernel/kptr_restrict. Needs os:admin.`;

async function readRun(args: string[], ctx: CommandContext): Promise<number> {
  const { positionals } = parseCommandArgs(args, {});
  const path = onePath(positionals, "path");
  if (path === undefined) throw new UsageError("read needs a PATH");
  return await withApiClient(ctx, async (api) => {
    const write = bytesWriter(ctx);
    const errors = await forEachNodeMessage(
      ctx,
      api,
      api.stream(MachineServiceService.read, { path }, {
        signal: ctx.signal,
        singleNode: api.nodes.length > 0,
      }),
      (_node, d) => write(d.bytes),
    );
    write(undefined);
    return reportNodeErrors(ctx.io, errors);
  });
}

/** Writes raw bytes where the CLI can, else as UTF-8 text; undefined ends. */
function bytesWriter(
  ctx: CommandContext,
): (bytes: Uint8Array | undefined) => void {
  const raw = ctx.io.stdoutBytes;
  if (raw) return (b) => b && raw(b);
  const dec = new TextDecoder();
  return (b) => {
    const text = b ? dec.decode(b, { stream: true }) : dec.decode();
    if (text) ctx.io.stdout(text);
  };
}

/** The read command. */
export const readCommand: Command = {
  name: "read",
  summary: "Print a file of a node",
  usage: READ_USAGE,
  run: readRun,
};

const USAGE_USAGE = `Usage: osctl usage PATH... [-a] [-d N] [-t SIZE] [-H]
       osctl du ...

Shows how much space folders (and with -a files) take on every target node,
a folder after everything in it, as du does. Only the node's allowed roots
are served (its state folder, /proc, /sys).

Flags:
  -a, --all            files too, not only folders
  -d, --depth N        entries at most N levels down (0: no limit)
  -t, --threshold N    leave out entries smaller than N bytes (negative:
                       those larger than -N)
  -H, --humanize       sizes in kB, MB, ...`;

async function usageRun(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    all: { type: "boolean", short: "a", default: false },
    depth: { type: "string", short: "d" },
    threshold: { type: "string", short: "t" },
    humanize: { type: "boolean", short: "H", default: false },
  });
  if (positionals.length === 0) throw new UsageError("usage needs a PATH");
  for (const p of positionals) {
    if (!p.startsWith("/")) {
      throw new UsageError(`path ${JSON.stringify(p)} must be absolute`);
    }
  }
  const depth = parseIntFlag(values.depth, "--depth", 0);
  if (depth < 0) throw new UsageError("--depth must be 0 or more");
  const t = values.threshold;
  if (t !== undefined && !/^-?\d+$/.test(t)) {
    throw new UsageError(
      `--threshold ${JSON.stringify(t)}: want a whole number of bytes`,
    );
  }
  const request = DiskUsageRequest.fromPartial({
    paths: positionals,
    all: values.all,
    recursionDepth: depth,
    threshold: t === undefined ? 0 : Number(t),
  });
  return await withApiClient(ctx, async (api) => {
    const rows: string[][] = [];
    const errors = await forEachNodeMessage(
      ctx,
      api,
      api.stream(MachineServiceService.diskUsage, request, {
        signal: ctx.signal,
      }),
      (node, d) => {
        if (printStructuredLine(ctx, DiskUsageInfo, d)) return;
        if (d.error) {
          ctx.io.stderr(`error reading ${d.name} on ${node}: ${d.error}\n`);
          return;
        }
        rows.push([
          node,
          values.humanize ? humanBytes(d.size) : String(d.size),
          d.name,
        ]);
      },
    );
    if (ctx.globals.output === "table") {
      ctx.io.stdout(formatTable(["NODE", "SIZE", "NAME"], rows));
    }
    return reportNodeErrors(ctx.io, errors);
  });
}

/** The usage command (alias: du). */
export const usageCommand: Command = {
  name: "usage",
  aliases: ["du"],
  summary: "Show the space folders take on nodes",
  usage: USAGE_USAGE,
  run: usageRun,
};

const CP_USAGE = `Usage: osctl cp PATH DEST

Copies a file or folder of one node (use -n to pick it when the context
names several): extracted into the local folder DEST (made if missing), or
kept as a .tar.gz when DEST ends in .tar.gz or .tgz, or written to standard
output when DEST is "-". Only the node's allowed roots are served (its state
folder, /proc, /sys). Needs os:admin. Extraction keeps every entry inside
DEST and never writes through a symlink.`;

async function cpRun(args: string[], ctx: CommandContext): Promise<number> {
  const { positionals } = parseCommandArgs(args, {});
  if (positionals.length !== 2) {
    throw new UsageError("cp needs a PATH on the node and a DEST (or -)");
  }
  const path = onePath([positionals[0]], "path")!;
  const dest = positionals[1];
  return await withApiClient(ctx, async (api) => {
    const stream = api.stream(MachineServiceService.copy, { rootPath: path }, {
      signal: ctx.signal,
      singleNode: api.nodes.length > 0,
    });
    const errors: NodeError[] = [];
    // The archive's bytes; a node's error entry ends them.
    const bytes = async function* (): AsyncGenerator<Uint8Array> {
      for await (const d of stream) {
        if (d.metadata?.error) {
          errors.push({
            node: nodeOf(d, api.defaultNode),
            error: d.metadata.error,
          });
          return;
        }
        yield d.bytes;
      }
    };
    if (dest === "-") {
      const write = bytesWriter(ctx);
      for await (const b of bytes()) write(b);
      return reportNodeErrors(ctx.io, errors);
    }
    if (/\.(tar\.gz|tgz)$/.test(dest)) {
      // Written next to DEST, renamed once whole: no half archive is left.
      const part = `${dest}.part`;
      let size = 0;
      try {
        using file = await Deno.open(part, {
          write: true,
          create: true,
          truncate: true,
        });
        for await (const b of bytes()) {
          for (let off = 0; off < b.length;) {
            off += await file.write(b.subarray(off));
          }
          size += b.length;
        }
      } catch (err) {
        await Deno.remove(part).catch(() => {});
        throw err;
      }
      if (errors.length > 0) {
        await Deno.remove(part).catch(() => {});
        return reportNodeErrors(ctx.io, errors);
      }
      await Deno.rename(part, dest);
      ctx.io.stderr(`wrote ${dest} (${humanBytes(size)})\n`);
      return 0;
    }
    const summary = await extractTarGz(ReadableStream.from(bytes()), dest);
    if (errors.length > 0) return reportNodeErrors(ctx.io, errors);
    ctx.io.stderr(
      `extracted into ${dest}: ${summary.files} files, ${summary.dirs} folders, ${summary.links} symlinks\n`,
    );
    return 0;
  });
}

/** The cp command. */
export const copyCommand: Command = {
  name: "cp",
  aliases: ["copy"],
  summary: "Copy a file or folder of a node as a .tar.gz",
  usage: CP_USAGE,
  run: cpRun,
};

/** The file commands, in help order. */
export const FILE_COMMANDS: readonly Command[] = [
  listCommand,
  readCommand,
  usageCommand,
  copyCommand,
];
