/**
 * Module autoload by modalias, as modprobe resolves it: the kernel's
 * modules.alias patterns (read by lib/kmod) matched with fnmatch against
 * devices' modalias strings.
 * @module
 */
import { parseModulesAlias } from "../../lib/kmod/mod.ts";
import { fnmatch } from "./fnmatch.ts";

/** One `alias PATTERN MODULE` line. */
export interface ModuleAlias {
  /** The fnmatch pattern, e.g. "virtio:d00000002v*". */
  pattern: string;
  /** Module name, normalised ('-' -> '_'). */
  module: string;
}

/** Parsed modules.alias, indexed by bus prefix for speed. */
export interface AliasTable {
  /** Aliases by the text before their first ':' ("pci", "virtio", ...). */
  byBus: Map<string, ModuleAlias[]>;
  /** Aliases whose bus part has a wildcard (checked against every modalias). */
  wild: ModuleAlias[];
  /** How many aliases were read. */
  count: number;
  /** Lines that were not `alias PATTERN MODULE` (1-based), skipped. */
  skippedLines: number[];
}

function busOf(pattern: string): string | undefined {
  const colon = pattern.indexOf(":");
  const bus = colon < 0 ? pattern : pattern.slice(0, colon);
  return /[*?[\\]/.test(bus) || colon < 0 ? undefined : bus;
}

/** Indexes modules.alias text by bus; malformed lines are skipped and listed. */
export function aliasTable(text: string): AliasTable {
  const table: AliasTable = {
    byBus: new Map(),
    wild: [],
    count: 0,
    skippedLines: [],
  };
  const aliases = parseModulesAlias(text, {
    onBadLine: (line) => table.skippedLines.push(line),
  });
  for (const [pattern, modules] of aliases) {
    const bus = busOf(pattern);
    for (const module of modules) {
      const alias = { pattern, module };
      if (bus === undefined) table.wild.push(alias);
      else {
        const list = table.byBus.get(bus);
        if (list) list.push(alias);
        else table.byBus.set(bus, [alias]);
      }
      table.count++;
    }
  }
  return table;
}

/** The modules whose aliases match any of `modaliases`, sorted, unique. */
export function matchModules(
  table: AliasTable,
  modaliases: Iterable<string>,
): string[] {
  const out = new Set<string>();
  for (const m of modaliases) {
    const bus = m.slice(0, Math.max(0, m.indexOf(":")));
    for (const a of [...(table.byBus.get(bus) ?? []), ...table.wild]) {
      if (!out.has(a.module) && fnmatch(a.pattern, m)) out.add(a.module);
    }
  }
  return [...out].sort();
}
