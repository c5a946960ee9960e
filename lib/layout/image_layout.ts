/**
 * Where things are in a Bronze image, in one place: paths on the root
 * filesystem, the modules each stage loads, the kernel command line.
 * machined's image mode relies on these paths.
 * @module
 */

/** The shared Deno runtime (bind-mounted from the initramfs). */
export const DENO_PATH = "/usr/bin/deno";
/** glibc and the ELF loader (bind-mounted from the initramfs). */
export const LIB_DIR = "/usr/lib/x86_64-linux-gnu";
/** One bundled JS file per program: `<name>.js`. */
export const BUNDLE_DIR = "/usr/lib/bronze";
/**
 * The warm Deno cache (V8 code cache of every bundle) in the initramfs: the
 * init's own DENO_DIR (so PID 1, which the init becomes, finds machined's
 * code compiled), copied by the init into the daemons' DENO_DIR (/run/deno).
 */
export const INIT_DENO_DIR = "/deno-dir";
/** util-linux's setpriv: starts each service under its own identity. */
export const SETPRIV_PATH = "/usr/bin/setpriv";
/** Debian's etcd (package etcd-server): the cluster state on control planes. */
export const ETCD_PATH = "/usr/bin/etcd";
/** Where a control plane's etcd keeps its data: the ephemeral partition. */
export const ETCD_DATA_DIR = "/var/lib/etcd";
/** Debian's nats-server binary. */
export const NATS_SERVER_PATH = "/usr/sbin/nats-server";
/** Mount point of the state partition (as in Talos). */
export const STATE_MOUNT = "/system/state";
/** Mount point of the ephemeral partition (as in Talos). */
export const EPHEMERAL_MOUNT = "/var";
/** The init program in the initramfs. */
export const INIT_SCRIPT = "/init.js";
/** The root squashfs in the initramfs. */
export const ROOTFS_IN_INITRAMFS = "/rootfs.sqsh";
/** Where the init mounts the root before switching to it. */
export const NEW_ROOT = "/newroot";

/** The daemons bundled into the image (folders under services/). */
export const IMAGE_DAEMONS: readonly string[] = [
  "machined",
  "apid",
  "trustd",
  "networkd",
  "udevd-lite",
];

/** Modules the init loads to mount the root (carried in the initramfs). */
export const BOOT_MODULES: readonly string[] = ["loop", "squashfs"];

/**
 * Modules the root carries for machined/udevd-lite to load: virtio devices,
 * the filesystems of the disk, overlay, packet sockets (built in here).
 */
export const IMAGE_MODULES: readonly string[] = [
  "virtio_pci",
  "virtio_net",
  "virtio_blk",
  "virtio_rng",
  "virtio_console",
  "loop",
  "squashfs",
  "overlay",
  "ext4",
  "crc32c_generic",
  "af_packet",
  // QEMU's fw_cfg in sysfs: the config drive `-fw_cfg name=opt/bronze/config`.
  "qemu_fw_cfg",
  // The ACPI power button as an input device: a clean power-off on request.
  "button",
  "evdev",
];

/**
 * Of {@linkcode IMAGE_MODULES}, what machined loads before it looks for the
 * machine config: the disk and its filesystem, the NIC, the config drive.
 * The rest (rng, console, overlay, the power button) it loads once the
 * services are up, off the boot's critical path: under QEMU TCG each
 * module costs tens of ms of PID 1's time (relocation, signature check).
 */
export const EARLY_MODULES: readonly string[] = [
  "virtio_pci",
  "virtio_blk",
  "virtio_net",
  "ext4",
  "crc32c_generic",
  "qemu_fw_cfg",
];

/**
 * V8 flags of every program in the image (init, machined, daemons). The warm
 * code cache is compiled with the same flags: V8 refuses a cache made under
 * other flags, and the program would compile its bundle again.
 */
export const IMAGE_V8_FLAGS: readonly string[] = ["--lite-mode"];

/** Deno's `--v8-flags=` argument for {@linkcode IMAGE_V8_FLAGS} (or none). */
export function imageV8FlagsArgs(): string[] {
  return IMAGE_V8_FLAGS.length === 0
    ? []
    : [`--v8-flags=${IMAGE_V8_FLAGS.join(",")}`];
}

/** Deno arguments before a program's script (PID 1 and the init). */
export const DENO_RUN_ARGS: readonly string[] = [
  "run",
  "--allow-all",
  "--no-config",
  "--no-lock",
  "--no-prompt",
  "--cached-only",
  ...imageV8FlagsArgs(),
];

/**
 * The entry of machined's bundle in the image: PID 1 in image mode, with no
 * command line (the init hands its own process over to it).
 */
export const PID1_ENTRY = "services/machined/image_main.ts";

/** Environment of the PID 1 program after the switch. */
export const PID1_ENV: Readonly<Record<string, string>> = {
  PATH: "/usr/bin:/usr/sbin",
  HOME: "/",
  TERM: "linux",
  NO_COLOR: "1",
  DENO_NO_UPDATE_CHECK: "1",
  // The daemons' cache: /run is a tmpfs the init mounts and seeds before
  // the switch. PID 1 itself keeps the init's INIT_DENO_DIR, which its
  // runtime opened at its start.
  DENO_DIR: "/run/deno",
};

/**
 * The kernel command line of the image: serial console, the Deno init, and
 * the init's arguments after `--`. Extra kernel arguments go before `--`
 * ({@linkcode composeCmdline}).
 */
export function imageCmdline(): string {
  return [
    "console=ttyS0",
    // Huge pages only where a program asks (madvise), as for a small
    // appliance: Debian's kernel backs every large anonymous mapping with
    // 2 MiB pages ("always"), so the five V8 heaps and their malloc arenas
    // grew by ~20 MiB in a node's first idle minute, pages never touched.
    "transparent_hugepage=madvise",
    // Console lines of the init and machined are kernel log records
    // (lib/log/boot_log.ts); without this the kernel keeps 10 in 5 s.
    "printk.devkmsg=on",
    // Kernel self-protection as Talos applies it (the sysctls are set by
    // machined: services/machined/image_mode/kernel_hardening.ts).
    "slab_nomerge",
    "pti=on",
    `rdinit=${DENO_PATH}`,
    "NO_COLOR=1",
    "DENO_NO_UPDATE_CHECK=1",
    `DENO_DIR=${INIT_DENO_DIR}`,
    "--",
    ...DENO_RUN_ARGS,
    INIT_SCRIPT,
  ].join(" ");
}

/** Inserts kernel arguments before the `--` that starts the init's own. */
export function composeCmdline(base: string, extra: readonly string[]): string {
  if (extra.length === 0) return base;
  const at = base.indexOf(" -- ");
  if (at < 0) return `${base} ${extra.join(" ")}`;
  return `${base.slice(0, at)} ${extra.join(" ")}${base.slice(at)}`;
}
