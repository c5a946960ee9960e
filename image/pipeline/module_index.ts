/**
 * The module side of the kernel: an index of every module of an unpacked
 * kernel (from each .ko's `.modinfo`, as depmod would build it; Debian's
 * package ships no modules.dep), the closure the image needs, and the
 * `/lib/modules/<release>` tree the image carries.
 * @module
 */

import { readModinfo } from "./elf.ts";
import {
  formatModulesAlias,
  formatModulesDep,
  formatModulesSoftdep,
  moduleClosure,
  type ModuleIndex,
  moduleName,
  normalizeModuleName,
  parseModulesBuiltin,
} from "../../lib/kmod/mod.ts";

/** The index of one kernel's modules, with what is built in. */
export interface KernelModules extends ModuleIndex {
  /** Names of modules built into the kernel (modules.builtin). */
  builtin: Set<string>;
  /** Module name -> `alias=` patterns of that module. */
  moduleAliases: Map<string, string[]>;
}

/** A chosen set of modules, in load order. */
export interface ModuleSelection {
  /** Module paths (relative to the modules dir), dependencies first. */
  paths: string[];
  /** Requested names that are built into the kernel (nothing to load). */
  builtin: string[];
  /** Softdeps that named no module of this kernel. */
  unresolved: string[];
}

const INDEX_FILE = ".bronze-module-index.json";

async function walk(dir: string, rel: string, out: string[]): Promise<void> {
  for await (const e of Deno.readDir(`${dir}/${rel}`)) {
    const p = rel === "" ? e.name : `${rel}/${e.name}`;
    if (e.isDirectory) await walk(dir, p, out);
    else if (e.isFile && /\.ko(\.(xz|zst|gz))?$/.test(e.name)) out.push(p);
  }
}

/**
 * Indexes the modules under `modulesDir` (/lib/modules/<release>). The
 * result is cached in that folder, which belongs to the build cache.
 */
export async function indexModules(modulesDir: string): Promise<KernelModules> {
  const cache = `${modulesDir}/${INDEX_FILE}`;
  let raw: {
    deps: [string, string[]][];
    softdepPre: [string, string[]][];
    moduleAliases: [string, string[]][];
    builtin: string[];
  };
  try {
    raw = JSON.parse(await Deno.readTextFile(cache));
  } catch {
    const files: string[] = [];
    await walk(modulesDir, "kernel", files);
    files.sort();
    const byName = new Map(files.map((f) => [moduleName(f), f]));
    const deps: [string, string[]][] = [];
    const softdepPre: [string, string[]][] = [];
    const moduleAliases: [string, string[]][] = [];
    for (const f of files) {
      const info = readModinfo(`${modulesDir}/${f}`);
      const name = moduleName(f);
      deps.push([
        f,
        info.depends.map((d) => {
          const p = byName.get(normalizeModuleName(d));
          if (p === undefined) {
            throw new Error(
              `Module ${JSON.stringify(f)} depends on unknown ${
                JSON.stringify(d)
              }`,
            );
          }
          return p;
        }),
      ]);
      if (info.softdepPre.length > 0) softdepPre.push([name, info.softdepPre]);
      if (info.aliases.length > 0) moduleAliases.push([name, info.aliases]);
    }
    let builtinText = "";
    try {
      builtinText = await Deno.readTextFile(`${modulesDir}/modules.builtin`);
    } catch {
      // a kernel without modules.builtin has nothing built in that we know of
    }
    const builtin = [...parseModulesBuiltin(builtinText)];
    raw = { deps, softdepPre, moduleAliases, builtin };
    await Deno.writeTextFile(cache, JSON.stringify(raw));
  }
  const aliases = new Map<string, string[]>();
  for (const [name, list] of raw.moduleAliases) {
    for (const a of list) aliases.set(a, [...(aliases.get(a) ?? []), name]);
  }
  return {
    deps: new Map(raw.deps),
    softdepPre: new Map(raw.softdepPre),
    aliases,
    moduleAliases: new Map(raw.moduleAliases),
    builtin: new Set(raw.builtin),
  };
}

/** The modules to carry for `names`, in load order; built-ins are skipped. */
export function selectModules(
  index: KernelModules,
  names: readonly string[],
): ModuleSelection {
  const builtin: string[] = [];
  const wanted: string[] = [];
  for (const n of names) {
    const c = normalizeModuleName(n);
    if (index.builtin.has(c)) builtin.push(c);
    else wanted.push(c);
  }
  const unresolved: string[] = [];
  const paths = moduleClosure(wanted, index, {
    onUnresolved: (m, s) => unresolved.push(`${m}: ${s}`),
  });
  return { paths, builtin, unresolved };
}

/** A file of the module tree to put into an image. */
export interface TreeFile {
  /** Path relative to the modules dir. */
  path: string;
  /** Where to read it on the host, or its bytes. */
  source: string | Uint8Array;
}

/**
 * The files of `/lib/modules/<release>` for a selection: the .ko files and
 * modules.dep, modules.softdep (aliases resolved to module names),
 * modules.alias and modules.builtin limited to what the image has.
 */
export function moduleTreeFiles(
  index: KernelModules,
  modulesDir: string,
  selection: ModuleSelection,
): TreeFile[] {
  const enc = new TextEncoder();
  const chosen = new Set(selection.paths);
  const names = new Set(selection.paths.map(moduleName));
  const deps = new Map<string, string[]>();
  for (const p of selection.paths) deps.set(p, index.deps.get(p) ?? []);
  const soft = new Map<string, string[]>();
  const aliases = new Map<string, string[]>();
  for (const n of names) {
    const pre = (index.softdepPre?.get(n) ?? []).map((s) => {
      const direct = normalizeModuleName(s);
      if (names.has(direct)) return direct;
      return (index.aliases?.get(s) ?? []).filter((x) => names.has(x))
        .sort()[0];
    }).filter((x): x is string => x !== undefined);
    if (pre.length > 0) soft.set(n, pre);
    for (const a of index.moduleAliases.get(n) ?? []) {
      aliases.set(a, [...(aliases.get(a) ?? []), n]);
    }
  }
  const files: TreeFile[] = [...chosen].sort().map((p) => ({
    path: p,
    source: `${modulesDir}/${p}`,
  }));
  files.push(
    { path: "modules.dep", source: enc.encode(formatModulesDep(deps)) },
    { path: "modules.softdep", source: enc.encode(formatModulesSoftdep(soft)) },
    { path: "modules.alias", source: enc.encode(formatModulesAlias(aliases)) },
    { path: "modules.builtin", source: `${modulesDir}/modules.builtin` },
  );
  return files;
}
