/**
 * Kernel modules: depmod's file formats (modules.dep, modules.softdep,
 * modules.alias), the load-order closure over them, and loading a closure
 * through finit_module(2). Used by the image build on the host, and by the
 * init, the probe and machined inside the guest.
 * @module
 */
export {
  formatModulesAlias,
  formatModulesDep,
  formatModulesSoftdep,
  moduleClosure,
  moduleName,
  normalizeModuleName,
  parseModulesAlias,
  parseModulesDep,
  parseModulesSoftdep,
  parseSoftdepValue,
} from "./modules_dep.ts";
export type { ClosureOptions, ModuleIndex } from "./modules_dep.ts";
export {
  loadModules,
  loadModulesAsync,
  sysfsModuleLive,
} from "./load_modules.ts";
export type {
  AsyncModuleLoader,
  LoadModulesOptions,
  ModuleLoader,
} from "./load_modules.ts";
