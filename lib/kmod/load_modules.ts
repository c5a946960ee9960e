/**
 * Loading kernel modules by name inside the guest: the closure from the
 * image's modules.dep and modules.softdep, each file through finit_module(2).
 * @module
 */

import {
  moduleClosure,
  moduleName,
  normalizeModuleName,
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

/** What loads module files on another thread (lib/ffi's Libc). */
export interface AsyncModuleLoader {
  /**
   * finit_module(2) of the file at `path`, off the event loop; a failure
   * `alreadyIn()` explains is none.
   */
  finitModuleAsync(
    path: string,
    options: { alreadyIn: () => boolean },
  ): Promise<void>;
}

/** A load plan: the closure in order and what each path waits for. */
interface Plan {
  order: string[];
  before: Map<string, string[]>;
}

function plan(names: readonly string[], dir: string): Plan {
  const deps = parseModulesDep(Deno.readTextFileSync(`${dir}/modules.dep`));
  let softdepPre = new Map<string, string[]>();
  try {
    softdepPre = parseModulesSoftdep(
      Deno.readTextFileSync(`${dir}/modules.softdep`),
    );
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  const order = moduleClosure(names, { deps, softdepPre });
  const byName = new Map(order.map((p) => [moduleName(p), p]));
  const before = new Map<string, string[]>();
  for (const p of order) {
    const soft = (softdepPre.get(moduleName(p)) ?? []).flatMap((n) => {
      const q = byName.get(normalizeModuleName(n));
      return q === undefined ? [] : [q];
    });
    before.set(p, [...(deps.get(p) ?? []), ...soft]);
  }
  return { order, before };
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
  const { order } = plan(names, options.dir);
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

/**
 * Runs `task` for each of `order` once every path `before` names for it
 * (those in `order`) has finished; paths that wait for nothing of each other
 * run at once. A path whose prerequisite failed is not run and fails with
 * that error. Resolves when all are done; rejects with the first failure
 * (in `order`) after all have settled.
 */
export async function inDependencyOrder(
  order: readonly string[],
  before: ReadonlyMap<string, readonly string[]>,
  task: (path: string) => Promise<void>,
): Promise<void> {
  const runs = new Map<string, Promise<void>>();
  for (const p of order) {
    const prior = (before.get(p) ?? []).flatMap((d) => {
      const r = runs.get(d);
      return r === undefined ? [] : [r];
    });
    runs.set(
      p,
      prior.length === 0 ? task(p) : Promise.all(prior).then(() => task(p)),
    );
  }
  const results = await Promise.allSettled(runs.values());
  const failed = results.find((r) => r.status === "rejected");
  if (failed !== undefined) throw failed.reason;
}

/**
 * {@linkcode loadModules} off the event loop: each file is loaded on
 * another thread as soon as what it depends on is in, so modules that need
 * nothing of each other load at once.
 */
export async function loadModulesAsync(
  loader: AsyncModuleLoader,
  names: readonly string[],
  options: LoadModulesOptions,
): Promise<string[]> {
  const { order, before } = plan(names, options.dir);
  const isLoaded = options.isLoaded ?? ((n: string) => sysfsModuleLive(n));
  await inDependencyOrder(order, before, async (p) => {
    const name = moduleName(p);
    if (isLoaded(name)) return;
    try {
      // A module another load had in flight (the init's preload) fails
      // here once that load is done: it is in, and that is no failure.
      await loader.finitModuleAsync(`${options.dir}/${p}`, {
        alreadyIn: () => isLoaded(name),
      });
    } catch (err) {
      if (!(err instanceof SyscallError && err.errno === EEXIST)) throw err;
    }
  });
  return order;
}
