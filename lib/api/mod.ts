/**
 * The API's method table (no message codecs: apid loads this). Daemons
 * register their handlers through lib/api/serve.ts; the messages themselves
 * are generated under lib/api/gen/.
 * @module
 */
export { goFileMode, goFileModeString } from "./file_mode.ts";
export {
  isMethodName,
  MACHINE_SERVICE_PATH,
  MAINTENANCE_METHODS,
  METHOD_NAMES,
  METHODS,
  methodsOf,
  methodSpec,
} from "./methods.ts";
export type {
  MaintenanceMethod,
  MethodName,
  MethodsOf,
  MethodSpec,
} from "./methods.ts";
