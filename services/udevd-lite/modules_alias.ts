/**
 * Module autoload by modalias, as modprobe resolves it: the kernel's
 * modules.alias patterns matched (fnmatch) against devices' modalias strings,
 * with modules.dep giving each module's file and dependencies.
 * @module
 */
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

const MAX_ALIAS_FILE_LINES = 1_000_000;

/** Normalises a module name as the kernel does ('-' and '_' are the same). */
export function normalizeModuleName(name: string): string {
  return name.replaceAll("-", "_");
}

/** The module name of a modules.dep path ("kernel/x/virtio-blk.ko.xz" -> "virtio_blk"). */
export function moduleNameOfPath(path: string): string {
  const base = path.slice(path.lastIndexOf("/") + 1);
  return normalizeModuleName(base.replace(/\.ko(\.(xz|zst|gz))?$/, ""));
}

function busOf(pattern: string): string | undefined {
  const colon = pattern.indexOf(":");
  const bus = colon < 0 ? pattern : pattern.slice(0, colon);
  return /[*?[\\]/.test(bus) || colon < 0 ? undefined : bus;
}

/** Parses modules.alias text; malformed lines are skipped and listed. */
export function parseModulesAlias(text: string): AliasTable {
  const table: AliasTable = {
    byBus: new Map(),
    wild: [],
    count: 0,
    skippedLines: [],
  };
  const lines = text.split("\n");
  if (lines.length > MAX_ALIAS_FILE_LINES) {
    throw new Error(
      `Cannot parse modules.alias: ${lines.length} lines, more than ${MAX_ALIAS_FILE_LINES}`,
    );
  }
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const parts = line.split(/\s+/);
    if (
      parts.length !== 3 || parts[0] !== "alias" ||
      !/^[A-Za-z0-9_-]{1,64}$/.test(parts[2])
    ) {
      table.skippedLines.push(i + 1);
      return;
    }
    const alias = { pattern: parts[1], module: normalizeModuleName(parts[2]) };
    const bus = busOf(alias.pattern);
    if (bus === undefined) table.wild.push(alias);
    else {
      const list = table.byBus.get(bus);
      if (list) list.push(alias);
      else table.byBus.set(bus, [alias]);
    }
    table.count++;
  });
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

/** modules.dep: each module's file (relative path) and its dependencies' names. */
export interface ModuleDeps {
  /** Module name -> path relative to the modules folder. */
  paths: Map<string, string>;
  /** Module name -> names of the modules it needs. */
  deps: Map<string, string[]>;
}

/** Parses modules.dep ("path: dep-path dep-path"); bad lines throw with their number. */
export function parseModulesDep(text: string): ModuleDeps {
  const paths = new Map<string, string>();
  const deps = new Map<string, string[]>();
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const colon = line.indexOf(":");
    if (colon <= 0) {
      throw new Error(
        `Cannot parse modules.dep line ${i + 1}: ${
          JSON.stringify(line.slice(0, 80))
        } has no "path:"`,
      );
    }
    const path = line.slice(0, colon);
    if (path.startsWith("/") || path.split("/").includes("..")) {
      throw new Error(
        `Cannot parse modules.dep line ${i + 1}: path ${
          JSON.stringify(path)
        } leaves the modules folder`,
      );
    }
    const name = moduleNameOfPath(path);
    paths.set(name, path);
    deps.set(
      name,
      line.slice(colon + 1).trim().split(/\s+/).filter(Boolean).map(
        moduleNameOfPath,
      ),
    );
  });
  return { paths, deps };
}

/**
 * The files to load for `names`, dependencies first, each once; names not in
 * modules.dep are returned in `unknown`, and `skip` (loaded or built in)
 * are left out with everything they alone need still included.
 */
export function moduleLoadOrder(
  names: readonly string[],
  index: ModuleDeps,
  skip: ReadonlySet<string> = new Set(),
): { order: Array<{ name: string; path: string }>; unknown: string[] } {
  const order: Array<{ name: string; path: string }> = [];
  const unknown: string[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (name: string, depth: number): void => {
    if (state.get(name) === "done" || skip.has(name)) return;
    if (state.get(name) === "visiting" || depth > 64) {
      throw new Error(`Cannot order modules: dependency cycle at "${name}"`);
    }
    const path = index.paths.get(name);
    if (path === undefined) {
      if (!unknown.includes(name)) unknown.push(name);
      state.set(name, "done");
      return;
    }
    state.set(name, "visiting");
    // modprobe loads the last-listed dependency first.
    for (const d of [...(index.deps.get(name) ?? [])].reverse()) {
      visit(d, depth + 1);
    }
    state.set(name, "done");
    order.push({ name, path });
  };
  for (const n of names) visit(normalizeModuleName(n), 0);
  return { order, unknown };
}
