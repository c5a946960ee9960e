/**
 * Loading kernel modules by name inside the guest: the closure from the
 * image's modules.dep and modules.softdep, each file through finit_module(2).
 * @module
 */

import {
  moduleClosure,
  moduleName,
  parseModulesDep,
  parseModulesSoftdep,
} from "./modules_dep.ts";
import { EEXIST, SyscallError } from "../ffi/mod.ts";

/** What loads one module file (lib/ffi's Libc). */
export interface ModuleLoader {
  /** finit_module(2) of the file at `path`. */
  finitModule(path: string): void;
}

/** Options for {@linkcode loadModules}. */
export interface LoadModulesOptions {
  /** The modules folder, /lib/modules/<release>. */
  dir: string;
  /**
   * Whether a module (by name) is loaded already; default: its
   * /sys/module/<name>/initstate says "live".
   */
  isLoaded?: (name: string) => boolean;
}

/** Whether /sys/module says the module is in and initialised. */
export function sysfsModuleLive(
  name: string,
  sysModule = "/sys/module",
): boolean {
  try {
    return Deno.readTextFileSync(`${sysModule}/${name}/initstate`).trim() ===
      "live";
  } catch {
    return false;
  }
}

/**
 * Loads `names` and what they depend on, dependencies first. A module that
 * is already loaded is skipped without a system call: finit_module would
 * read and verify its whole file before it answers EEXIST (under QEMU TCG
 * ~50 ms for ext4). Returns the module paths, in load order.
 */
export function loadModules(
  loader: ModuleLoader,
  names: readonly string[],
  options: LoadModulesOptions,
): string[] {
  const deps = parseModulesDep(
    Deno.readTextFileSync(`${options.dir}/modules.dep`),
  );
  let softdepPre = new Map<string, string[]>();
  try {
    softdepPre = parseModulesSoftdep(
      Deno.readTextFileSync(`${options.dir}/modules.softdep`),
    );
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  const order = moduleClosure(names, { deps, softdepPre });
  const isLoaded = options.isLoaded ?? ((n: string) => sysfsModuleLive(n));
  for (const p of order) {
    if (isLoaded(moduleName(p))) continue;
    try {
      loader.finitModule(`${options.dir}/${p}`);
    } catch (err) {
      if (!(err instanceof SyscallError && err.errno === EEXIST)) throw err;
    }
  }
  return order;
}
