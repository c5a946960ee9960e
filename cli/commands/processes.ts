/**
 * `osctl processes` (`ps`): the processes of every target node, sorted by
 * resident memory or CPU time; `--watch` redraws the table in place.
 */
import {
  MachineServiceService,
  ProcessesResponse,
  type ProcessInfo,
} from "../../lib/api/gen/machine/machine.ts";
import type { Command, CommandContext } from "../command.ts";
import { UsageError } from "../command.ts";
import { parseCommandArgs, parseDurationSeconds } from "../client/args.ts";
import type { ApiClient } from "../client/api_client.ts";
import { errorLine } from "../client/errors.ts";
import { formatTable, reportNodeErrors } from "../client/output.ts";
import { nodeOf, splitReplies } from "../client/reply.ts";
import {
  printStructured,
  printStructuredLine,
  withApiClient,
} from "../client/session.ts";
import { humanBytes } from "../client/units.ts";

const USAGE = `Usage: osctl processes [-s rss|cpu] [-w [--interval 2s]]
       osctl ps

Lists the processes of every target node, largest first.

Flags:
  -s, --sort KEY       rss (resident memory, also "memory"; default) or cpu
  -w, --watch          redraw the table in place until interrupted
      --interval D     time between redraws with --watch (default 2s)`;

const SORTS = ["rss", "memory", "cpu"] as const;
type SortKey = typeof SORTS[number];

/** Clears the terminal and puts the cursor top left (a redraw in place). */
export const CLEAR_SCREEN = "\x1b[H\x1b[2J";

/** Sorts processes in place, largest first; ties by pid. */
export function sortProcesses(
  procs: ProcessInfo[],
  key: SortKey,
): ProcessInfo[] {
  const by = key === "cpu"
    ? (p: ProcessInfo) => p.cpuTime
    : (p: ProcessInfo) => p.residentMemory;
  return procs.sort((a, b) => by(b) - by(a) || a.pid - b.pid);
}

/** The command line talosctl shows: the args with the executable's full path. */
export function processCommand(p: ProcessInfo): string {
  let line: string;
  const first = p.args.split(/\s+/).filter(Boolean)[0];
  const exe = p.executable.split(/\s+/)[0] ?? "";
  if (!p.executable) line = p.command;
  else if (first && first === exe.slice(exe.lastIndexOf("/") + 1)) {
    line = p.args.replace(first, exe);
  } else line = p.args || p.command;
  // Control characters would break the table.
  return line.replace(/[^\x20-\x7e]/g, " ");
}

/** The processes table: NODE PID STATE THREADS CPU-TIME VIRTMEM RESMEM LABEL COMMAND. */
export function processesTable(
  nodes: { node: string; processes: ProcessInfo[] }[],
  key: SortKey,
  options: { perNode?: number } = {},
): string {
  const rows: string[][] = [];
  for (const { node, processes } of nodes) {
    const sorted = sortProcesses([...processes], key);
    for (const p of sorted.slice(0, options.perNode ?? sorted.length)) {
      rows.push([
        node,
        String(p.pid),
        p.state,
        String(p.threads),
        p.cpuTime.toFixed(2),
        humanBytes(p.virtualMemory),
        humanBytes(p.residentMemory),
        p.service,
        processCommand(p),
      ]);
    }
  }
  return formatTable(
    [
      "NODE",
      "PID",
      "STATE",
      "THREADS",
      "CPU-TIME",
      "VIRTMEM",
      "RESMEM",
      "LABEL",
      "COMMAND",
    ],
    rows,
  );
}

async function once(
  ctx: CommandContext,
  api: ApiClient,
  key: SortKey,
  watchMs?: number,
): Promise<number> {
  const watch = watchMs !== undefined;
  const reply = await api.unary(MachineServiceService.processes, {
    metadata: undefined,
  }, { signal: ctx.signal });
  const { good, errors } = splitReplies(reply.messages, api.defaultNode);
  const printed = watch
    ? printStructuredLine(ctx, ProcessesResponse, reply)
    : printStructured(ctx, ProcessesResponse, reply);
  if (!printed) {
    const nodes = good.map((m) => ({
      node: nodeOf(m, api.defaultNode),
      processes: m.processes,
    }));
    if (watch) {
      // On a terminal each frame fits it, as top's does: the largest
      // processes of each node, lines cut at the edge.
      const size = ctx.io.terminalSize?.();
      const perNode = size
        ? Math.max(1, Math.floor((size.rows - 4) / Math.max(1, nodes.length)))
        : undefined;
      let table = processesTable(nodes, key, { perNode });
      if (size) {
        table = table.split("\n").map((l) => l.slice(0, size.columns - 1))
          .join("\n");
      }
      const stamp = new Date().toISOString().slice(0, 19).replace("T", " ");
      ctx.io.stdout(
        `${CLEAR_SCREEN}${stamp}Z, every ${
          watchMs / 1000
        }s (Ctrl-C to stop)\n\n${table}`,
      );
    } else ctx.io.stdout(processesTable(nodes, key));
  }
  return reportNodeErrors(ctx.io, errors);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

async function run(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    sort: { type: "string", short: "s", default: "rss" },
    watch: { type: "boolean", short: "w", default: false },
    interval: { type: "string" },
  });
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"`);
  }
  const key = values.sort as SortKey;
  if (!SORTS.includes(key)) {
    throw new UsageError(
      `--sort ${JSON.stringify(values.sort)}: want rss, memory or cpu`,
    );
  }
  if (values.interval !== undefined && !values.watch) {
    throw new UsageError("--interval needs --watch");
  }
  const intervalMs = values.interval === undefined
    ? 2000
    : parseDurationSeconds(values.interval, "--interval") * 1000;
  return await withApiClient(ctx, async (api) => {
    if (!values.watch) return await once(ctx, api, key);
    // Redraws until Ctrl-C; a failed round is shown and the next one tried.
    while (!ctx.signal.aborted) {
      try {
        await once(ctx, api, key, intervalMs);
      } catch (err) {
        if (ctx.signal.aborted) break;
        ctx.io.stderr(`osctl processes: ${errorLine(err)}\n`);
      }
      await sleep(intervalMs, ctx.signal);
    }
    return 0;
  });
}

/** The processes command (aliases: ps, p). */
export const processesCommand: Command = {
  name: "processes",
  aliases: ["ps", "p"],
  summary: "List running processes",
  usage: USAGE,
  run,
};
