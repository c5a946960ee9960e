/**
 * Kernel modules: depmod's file formats (modules.dep, modules.softdep,
 * modules.alias), the load-order closure over them, and loading a closure
 * through finit_module(2). Used by the image build on the host, and by the
 * init, the probe, machined and udevd-lite inside the guest.
 * @module
 */
export {
  formatModulesAlias,
  formatModulesDep,
  formatModulesSoftdep,
  MAX_MODULES_ALIAS_LINES,
  moduleClosure,
  moduleName,
  normalizeModuleName,
  parseModulesAlias,
  parseModulesBuiltin,
  parseModulesDep,
  parseModulesSoftdep,
  parseSoftdepValue,
} from "./modules_dep.ts";
export type {
  ClosureOptions,
  ModuleIndex,
  ParseAliasOptions,
} from "./modules_dep.ts";
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
