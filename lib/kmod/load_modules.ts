/**
 * Loading kernel modules by name inside the guest: the closure from the
 * image's modules.dep and modules.softdep, each file through finit_module(2).
 * @module
 */

import {
  moduleClosure,
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
}

/**
 * Loads `names` and what they depend on, dependencies first. A module that
 * is already loaded is fine. Returns the module paths, in load order.
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
  for (const p of order) {
    try {
      loader.finitModule(`${options.dir}/${p}`);
    } catch (err) {
      if (!(err instanceof SyscallError && err.errno === EEXIST)) throw err;
    }
  }
  return order;
}
