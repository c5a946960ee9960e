/**
 * Kernel module dependency files (depmod's `modules.dep`, `modules.softdep`,
 * `modules.alias`, `modules.builtin` formats) and the load-order closure over
 * them. Pure: used by the image build on the host and by the init, the probe,
 * machined and udevd-lite inside the guest.
 * @module
 */

/** What is known about the modules of one kernel, keyed by module path. */
export interface ModuleIndex {
  /** Module path (relative to /lib/modules/<kver>) -> paths it depends on. */
  deps: Map<string, string[]>;
  /** Module name -> names (or aliases) to load before it (softdep "pre:"). */
  softdepPre?: Map<string, string[]>;
  /** Alias -> module names providing it (used to resolve softdeps). */
  aliases?: Map<string, string[]>;
}

/** Options for {@linkcode moduleClosure}. */
export interface ClosureOptions {
  /** Follow softdep "pre:" entries (default true). */
  softdeps?: boolean;
  /** Called for a softdep that names no known module or alias. */
  onUnresolved?: (module: string, softdep: string) => void;
  /**
   * Visit each module's dependencies last-listed first, as modprobe loads
   * them (default false: in the order modules.dep lists them).
   */
  modprobeOrder?: boolean;
}

const MODULE_SUFFIX = /\.ko(\.(xz|zst|gz))?$/;
// The kernel's MODULE_NAME_LEN is 56; module names are these characters.
const MODULE_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** Most lines read from one modules.alias (a real one has ~30,000). */
export const MAX_MODULES_ALIAS_LINES = 1_000_000;

/** The canonical name of a module file: basename, no `.ko*`, `-` as `_`. */
export function moduleName(path: string): string {
  const base = path.slice(path.lastIndexOf("/") + 1);
  if (!MODULE_SUFFIX.test(base)) {
    throw new Error(`Not a kernel module file name: ${JSON.stringify(path)}`);
  }
  return base.replace(MODULE_SUFFIX, "").replaceAll("-", "_");
}

/** Canonical form of a name given by a user or a softdep (`-` as `_`). */
export function normalizeModuleName(name: string): string {
  return name.replaceAll("-", "_");
}

/** Parses `modules.dep`: `path: dep dep ...` per line. */
export function parseModulesDep(text: string): Map<string, string[]> {
  const deps = new Map<string, string[]>();
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const colon = line.indexOf(":");
    if (colon <= 0) {
      throw new Error(
        `Cannot parse modules.dep line ${i + 1} ${
          JSON.stringify(raw)
        }: no "path:"`,
      );
    }
    const path = line.slice(0, colon).trim();
    if (path.startsWith("/") || path.split("/").includes("..")) {
      throw new Error(
        `Cannot parse modules.dep line ${i + 1}: path ${
          JSON.stringify(path)
        } leaves the modules folder`,
      );
    }
    moduleName(path); // validates
    const rest = line.slice(colon + 1).trim();
    deps.set(path, rest === "" ? [] : rest.split(/\s+/));
  });
  return deps;
}

/** Formats `modules.dep`, sorted by module path. */
export function formatModulesDep(deps: Map<string, string[]>): string {
  return [...deps.keys()].sort().map((p) => {
    const d = deps.get(p) ?? [];
    return d.length === 0 ? `${p}:\n` : `${p}: ${d.join(" ")}\n`;
  }).join("");
}

/** Parses `modules.softdep`: `softdep NAME pre: A B post: C`. */
export function parseModulesSoftdep(text: string): Map<string, string[]> {
  const pre = new Map<string, string[]>();
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const words = line.split(/\s+/);
    if (words[0] !== "softdep" || words.length < 2) {
      throw new Error(
        `Cannot parse modules.softdep line ${i + 1} ${JSON.stringify(raw)}`,
      );
    }
    const names = parseSoftdepValue(words.slice(2).join(" ")).pre;
    if (names.length > 0) pre.set(normalizeModuleName(words[1]), names);
  });
  return pre;
}

/** Parses a modinfo `softdep=` value: `pre: a b post: c`. */
export function parseSoftdepValue(
  value: string,
): { pre: string[]; post: string[] } {
  const out = { pre: [] as string[], post: [] as string[] };
  let into: string[] | undefined;
  for (const w of value.trim().split(/\s+/)) {
    if (w === "") continue;
    if (w === "pre:") into = out.pre;
    else if (w === "post:") into = out.post;
    else if (into) into.push(w);
    else throw new Error(`Cannot parse softdep ${JSON.stringify(value)}`);
  }
  return out;
}

/** Formats `modules.softdep` (pre only), sorted by module name. */
export function formatModulesSoftdep(pre: Map<string, string[]>): string {
  return [...pre.keys()].sort().filter((n) => (pre.get(n) ?? []).length > 0)
    .map((n) => `softdep ${n} pre: ${(pre.get(n) ?? []).join(" ")}\n`)
    .join("");
}

/** Options for {@linkcode parseModulesAlias}. */
export interface ParseAliasOptions {
  /**
   * Called with the 1-based number of a line that is not `alias PATTERN
   * NAME`, which is then skipped; without it such a line throws.
   */
  onBadLine?: (line: number) => void;
}

/**
 * Parses `modules.alias`: `alias PATTERN NAME`, into pattern -> module names
 * (canonical), in file order. At most {@linkcode MAX_MODULES_ALIAS_LINES}.
 */
export function parseModulesAlias(
  text: string,
  options: ParseAliasOptions = {},
): Map<string, string[]> {
  const aliases = new Map<string, string[]>();
  const lines = text.split("\n");
  if (lines.length > MAX_MODULES_ALIAS_LINES) {
    throw new Error(
      `Cannot parse modules.alias: ${lines.length} lines, more than ${MAX_MODULES_ALIAS_LINES}`,
    );
  }
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const words = line.split(/\s+/);
    if (
      words[0] !== "alias" || words.length !== 3 || !MODULE_NAME.test(words[2])
    ) {
      if (options.onBadLine) return options.onBadLine(i + 1);
      throw new Error(
        `Cannot parse modules.alias line ${i + 1} ${JSON.stringify(raw)}`,
      );
    }
    const list = aliases.get(words[1]) ?? [];
    list.push(normalizeModuleName(words[2]));
    aliases.set(words[1], list);
  });
  return aliases;
}

/**
 * Parses `modules.builtin` (one module path per line) into the canonical
 * names of the modules built into the kernel. Throws naming a bad line.
 */
export function parseModulesBuiltin(text: string): Set<string> {
  const names = new Set<string>();
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "") return;
    try {
      names.add(moduleName(line));
    } catch (cause) {
      throw new Error(`Cannot parse modules.builtin line ${i + 1}`, { cause });
    }
  });
  return names;
}

/** Formats `modules.alias`, sorted by alias then module. */
export function formatModulesAlias(aliases: Map<string, string[]>): string {
  const lines: string[] = [];
  for (const a of [...aliases.keys()].sort()) {
    for (const n of [...(aliases.get(a) ?? [])].sort()) {
      lines.push(`alias ${a} ${n}\n`);
    }
  }
  return lines.join("");
}

/**
 * The module paths to load, in order (every module after what it depends
 * on), for the given module names. Throws naming the module that is not in
 * the index, and on a dependency cycle.
 */
export function moduleClosure(
  names: readonly string[],
  index: ModuleIndex,
  options: ClosureOptions = {},
): string[] {
  const byName = new Map<string, string>();
  for (const p of index.deps.keys()) byName.set(moduleName(p), p);
  const order: string[] = [];
  const state = new Map<string, "visiting" | "done">();

  const resolveSoft = (owner: string, dep: string): string | undefined => {
    const n = normalizeModuleName(dep);
    if (byName.has(n)) return n;
    const providers = (index.aliases?.get(dep) ?? [])
      .map(normalizeModuleName).filter((p) => byName.has(p)).sort();
    if (providers.length > 0) return providers[0];
    options.onUnresolved?.(owner, dep);
    return undefined;
  };

  const visit = (name: string, chain: string[]): void => {
    const path = byName.get(name);
    if (path === undefined) {
      const via = chain.length > 0 ? ` (needed by ${chain.join(" <- ")})` : "";
      throw new Error(`Kernel module ${JSON.stringify(name)} not found${via}`);
    }
    const s = state.get(path);
    if (s === "done") return;
    if (s === "visiting") {
      throw new Error(
        `Kernel module dependency cycle: ${[...chain, name].join(" -> ")}`,
      );
    }
    state.set(path, "visiting");
    if (options.softdeps ?? true) {
      for (const soft of index.softdepPre?.get(name) ?? []) {
        const resolved = resolveSoft(name, soft);
        if (resolved !== undefined) visit(resolved, [...chain, name]);
      }
    }
    const deps = index.deps.get(path) ?? [];
    for (const dep of options.modprobeOrder ? [...deps].reverse() : deps) {
      if (!index.deps.has(dep)) {
        throw new Error(
          `Kernel module ${JSON.stringify(path)} depends on ${
            JSON.stringify(dep)
          }, which is not in modules.dep`,
        );
      }
      visit(moduleName(dep), [...chain, name]);
    }
    state.set(path, "done");
    order.push(path);
  };

  for (const n of names) visit(normalizeModuleName(n), []);
  return order;
}
