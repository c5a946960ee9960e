/**
 * The contract between machined and the image build, imported by both
 * without either climbing into the other: where things are in an image
 * (paths, modules, the kernel command line, V8 flags) and the Deno
 * permissions each supervised daemon runs with.
 * @module
 */
export {
  BOOT_MODULES,
  BUNDLE_DIR,
  composeCmdline,
  DENO_PATH,
  DENO_RUN_ARGS,
  EARLY_MODULES,
  EPHEMERAL_MOUNT,
  ETCD_DATA_DIR,
  ETCD_PATH,
  IMAGE_DAEMONS,
  IMAGE_MODULES,
  IMAGE_V8_FLAGS,
  imageCmdline,
  imageV8FlagsArgs,
  INIT_DENO_DIR,
  INIT_SCRIPT,
  LIB_DIR,
  NATS_SERVER_PATH,
  NEW_ROOT,
  PID1_ENTRY,
  PID1_ENV,
  ROOTFS_IN_INITRAMFS,
  SETPRIV_PATH,
  STATE_MOUNT,
} from "./image_layout.ts";
export {
  certsDir,
  CHILD_ENV_KEYS,
  DAEMON_DIRS,
  DAEMON_PERMISSIONS,
  denoPermissionFlags,
  LIBRARY_ENV,
} from "./daemon_permissions.ts";
export type {
  DaemonPermissions,
  PermissionContext,
  SupervisedDaemon,
} from "./daemon_permissions.ts";
export { SERVICE_IDENTITIES, setprivArgs } from "./service_identity.ts";
export type {
  ProcessIdentity,
  ServiceIdentityName,
} from "./service_identity.ts";
