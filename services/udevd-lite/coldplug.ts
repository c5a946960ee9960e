/**
 * Coldplug: the modalias of every device under /sys/devices, the modules
 * that match them, and (image mode) loading those modules.
 * @module
 */
import type { DirEntry, Libc } from "../../lib/ffi/mod.ts";
import { EEXIST, SyscallError } from "../../lib/ffi/mod.ts";
import {
  moduleClosure,
  moduleName,
  normalizeModuleName,
  parseModulesBuiltin,
  parseModulesDep,
} from "../../lib/kmod/mod.ts";
import { aliasTable, matchModules } from "./modules_alias.ts";
import type { SysfsReader } from "./sysfs.ts";

const MAX_DEPTH = 32;
const MAX_ENTRIES = 200_000;
const MAX_MODALIAS = 4096;

/** What a coldplug scan found. */
export interface ColdplugPlan {
  /** Distinct modalias strings of the devices. */
  modaliases: string[];
  /** Modules that match them, minus built-in and already-loaded ones. */
  modules: string[];
  /** Matched modules that are built into the kernel or already loaded. */
  present: string[];
  /** How many aliases modules.alias held (0: no file). */
  aliasCount: number;
  /** Lines of modules.alias that were skipped as malformed. */
  skippedAliasLines: number;
}

/** Options for {@linkcode scanModaliases} and {@linkcode planColdplug}. */
export interface ColdplugOptions {
  /** The sysfs root; "/sys" by default. */
  sysRoot?: string;
  /** Stops the walk when aborted. */
  signal?: AbortSignal;
}

/** Reads every `modalias` under `<sysRoot>/devices` (symlinks not followed). */
export function scanModaliases(
  sys: SysfsReader,
  options: ColdplugOptions = {},
): string[] {
  const root = `${options.sysRoot ?? "/sys"}/devices`;
  const found = new Set<string>();
  let entries = 0;
  const walk = (dir: string, depth: number): void => {
    if (depth > MAX_DEPTH || options.signal?.aborted) return;
    let list: DirEntry[];
    try {
      list = sys.list(dir);
    } catch {
      return; // vanished or unreadable: devices come and go
    }
    for (const e of list) {
      if (++entries > MAX_ENTRIES) {
        throw new Error(
          `Cannot scan ${root}: more than ${MAX_ENTRIES} entries`,
        );
      }
      const path = `${dir}/${e.name}`;
      if (e.type === "dir") walk(path, depth + 1);
      else if (e.name === "modalias" && e.type === "file") {
        const v = sys.attr(path);
        if (v && v.length <= MAX_MODALIAS && !hasControlChars(v)) found.add(v);
      }
    }
  };
  walk(root, 0);
  return [...found].sort();
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw new Error(`Cannot read ${path}`, { cause: err });
  }
}

/**
 * Works out which modules the present devices need: modalias scan, matched
 * against `<modulesDir>/modules.alias`, minus modules.builtin and what
 * /sys/module shows as loaded. A missing modules.alias yields no modules.
 */
export async function planColdplug(
  sys: SysfsReader,
  modulesDir: string,
  options: ColdplugOptions = {},
): Promise<ColdplugPlan> {
  const sysRoot = options.sysRoot ?? "/sys";
  const modaliases = scanModaliases(sys, options);
  const aliasText = await readOptional(`${modulesDir}/modules.alias`);
  if (aliasText === undefined) {
    return {
      modaliases,
      modules: [],
      present: [],
      aliasCount: 0,
      skippedAliasLines: 0,
    };
  }
  const table = aliasTable(aliasText);
  const builtin = parseModulesBuiltin(
    await readOptional(`${modulesDir}/modules.builtin`) ?? "",
  );
  const modules: string[] = [];
  const present: string[] = [];
  for (const m of matchModules(table, modaliases)) {
    if (builtin.has(m) || sys.exists(`${sysRoot}/module/${m}`)) {
      present.push(m);
    } else modules.push(m);
  }
  return {
    modaliases,
    modules,
    present,
    aliasCount: table.count,
    skippedAliasLines: table.skippedLines.length,
  };
}

/** What loading did. */
export interface LoadReport {
  /** Modules loaded now, in order. */
  loaded: string[];
  /** Modules the kernel already had (EEXIST). */
  alreadyLoaded: string[];
  /** Modules not in modules.dep. */
  unknown: string[];
  /** Modules that failed, with why. */
  failed: Array<{ module: string; error: string }>;
}

/** Options for {@linkcode loadModules}. */
export interface LoadModulesOptions {
  /** The kernel's modules folder (holds modules.dep). */
  modulesDir: string;
  /** sysfs, to see what /sys/module already has. */
  sys: SysfsReader;
  /** The sysfs root; "/sys" by default. */
  sysRoot?: string;
}

/**
 * Loads `modules` and their dependencies with finit_module(2), in
 * modules.dep order (image mode only; needs root). A failure is reported and
 * the rest still load; a dependency failure skips what needs it.
 */
export async function loadModules(
  libc: Libc,
  modules: readonly string[],
  options: LoadModulesOptions,
): Promise<LoadReport> {
  const depText = await readOptional(`${options.modulesDir}/modules.dep`);
  if (depText === undefined) {
    throw new Error(
      `Cannot load modules: no modules.dep in ${options.modulesDir}`,
    );
  }
  const deps = parseModulesDep(depText);
  const loadedNow = new Set<string>();
  for (const path of deps.keys()) {
    const name = moduleName(path);
    if (options.sys.exists(`${options.sysRoot ?? "/sys"}/module/${name}`)) {
      loadedNow.add(name);
    }
  }
  const { order, unknown } = loadOrder(modules, deps, loadedNow);
  const report: LoadReport = {
    loaded: [],
    alreadyLoaded: [],
    unknown,
    failed: [],
  };
  const failedSet = new Set<string>();
  for (const { name, path } of order) {
    const needs = (deps.get(path) ?? []).map(moduleName);
    const broken = needs.find((d) => failedSet.has(d));
    if (broken) {
      failedSet.add(name);
      report.failed.push({
        module: name,
        error: `needs "${broken}", which failed`,
      });
      continue;
    }
    try {
      libc.finitModule(`${options.modulesDir}/${path}`);
      report.loaded.push(name);
    } catch (err) {
      if (err instanceof SyscallError && err.errno === EEXIST) {
        report.alreadyLoaded.push(name);
      } else {
        failedSet.add(name);
        report.failed.push({ module: name, error: (err as Error).message });
      }
    }
  }
  return report;
}

/**
 * The files to load for `modules`, dependencies first (in modprobe's order),
 * each once, leaving out those `loaded` already; names that modules.dep
 * (`deps`, as lib/kmod parses it) does not have are returned in `unknown`.
 */
export function loadOrder(
  modules: readonly string[],
  deps: Map<string, string[]>,
  loaded: ReadonlySet<string> = new Set(),
): { order: Array<{ name: string; path: string }>; unknown: string[] } {
  const names = new Set([...deps.keys()].map(moduleName));
  const known: string[] = [];
  const unknown: string[] = [];
  for (const m of modules.map(normalizeModuleName)) {
    const list = names.has(m) ? known : unknown;
    if (!list.includes(m)) list.push(m);
  }
  const order = moduleClosure(known, { deps }, {
    softdeps: false,
    modprobeOrder: true,
  }).map((path) => ({ name: moduleName(path), path }))
    .filter((o) => !loaded.has(o.name));
  return { order, unknown };
}

/** Whether `s` holds an ASCII control character (0x00-0x1f, 0x7f). */
function hasControlChars(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}
