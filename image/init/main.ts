/**
 * The initramfs init (PID 1 until it hands the process to the real one).
 * Run by the kernel as `rdinit=/usr/bin/deno -- run --allow-all ...
 * /init.js`: mounts /dev, /proc, /sys; loads the loop and squashfs modules;
 * attaches /rootfs.sqsh to a loop device and mounts it read-only;
 * bind-mounts the Deno runtime of the initramfs into it (read-only); moves
 * /dev, /proc, /sys over and mounts a tmpfs on /run, seeded with the warm
 * Deno cache for the daemons; switches root (MS_MOVE + chroot), sets PID 1's
 * environment and imports the chosen program (machined in image mode, or
 * the probe) into this same process. That is an exec without a second Deno
 * start: under QEMU TCG a Deno runtime takes about a second to start, and
 * PID 1 needs one only once. The program's code cache is found in the
 * init's own DENO_DIR, which the runtime opened at its start.
 * Any failure is printed and the init exits, which panics the kernel; the
 * `panic=` kernel argument decides what happens next.
 * @module
 */

import { bootLog, errorText } from "../../lib/log/mod.ts";
import {
  INIT_CONFIG_PATH,
  type InitConfig,
  parseInitConfig,
  programFromCmdline,
} from "./init_config.ts";
import { attachLoop } from "./loop.ts";
import {
  type AsyncModuleLoader,
  loadModules,
  loadModulesAsync,
  moduleName,
} from "../../lib/kmod/mod.ts";
import {
  EBUSY,
  Libc,
  MS_BIND,
  MS_MOVE,
  MS_NODEV,
  MS_NOEXEC,
  MS_NOSUID,
  MS_RDONLY,
  MS_REMOUNT,
  Sys,
  SyscallError,
} from "../../lib/ffi/mod.ts";

function mountOnce(
  sys: Sys,
  fstype: string,
  target: string,
  flags: number,
): void {
  try {
    sys.mount(fstype, target, fstype, flags);
  } catch (err) {
    if (!(err instanceof SyscallError && err.errno === EBUSY)) throw err;
  }
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Copies the warm Deno cache files into the (tmpfs) DENO_DIR of the daemons.
 * Not SQLite's -wal, -shm and -journal files: this runtime has the cache
 * open, and they belong to its connection. Asynchronous, so the module
 * preload moves on to the next modules while the files are copied.
 */
async function seedDenoDir(from: string, to: string): Promise<number> {
  await Deno.mkdir(to, { recursive: true, mode: 0o755 });
  let n = 0;
  for await (const e of Deno.readDir(from)) {
    if (!e.isFile || /-(wal|shm|journal)$/.test(e.name)) continue;
    await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
    n++;
  }
  return n;
}

/**
 * Starts loading the program's early modules (`paths` under `dir`, the new
 * root's modules folder) as machined loads them (`loadModulesAsync`: the
 * same closure, each once what it needs is in, on Deno's blocking pool)
 * while the program's code loads on this thread; the program loads them
 * again (a skip when /sys/module says live) and reports. Each file is opened
 * now, before the root switch.
 */
function preload(
  dir: string,
  paths: readonly string[],
  log: (m: string) => void,
): void {
  const libc = Libc.open();
  const fds = new Map<string, number>();
  for (const p of paths) {
    try {
      fds.set(`${dir}/${p}`, libc.openModule(`${dir}/${p}`));
    } catch {
      // left to the program, which says why
    }
  }
  let loaded = 0;
  const loader: AsyncModuleLoader = {
    async finitModuleAsync(path, options) {
      const fd = fds.get(path);
      // Not opened: what needs it waits for the program too.
      if (fd === undefined) throw new Error(`${path} could not be opened`);
      await libc.finitModuleFd(fd, path, options);
      loaded++;
    },
  };
  loadModulesAsync(loader, paths.map(moduleName), { dir })
    .catch(() => {})
    .finally(() => {
      log(`preloaded ${loaded} of ${paths.length} modules`);
      for (const fd of fds.values()) libc.close(fd);
      libc[Symbol.dispose]();
    });
}

async function boot(sys: Sys, log: (m: string) => void): Promise<void> {
  if (Deno.pid !== 1) {
    throw new Error(`The init runs only as PID 1 (this is PID ${Deno.pid})`);
  }
  mountOnce(sys, "devtmpfs", "/dev", MS_NOSUID | MS_NOEXEC);
  // With /dev mounted, console lines are kernel log records (/dev/kmsg).
  log(`starting (Deno ${Deno.version.deno})`);
  mountOnce(sys, "proc", "/proc", MS_NOSUID | MS_NOEXEC);
  mountOnce(sys, "sysfs", "/sys", MS_NOSUID | MS_NOEXEC);

  let cfg: InitConfig;
  try {
    cfg = parseInitConfig(JSON.parse(Deno.readTextFileSync(INIT_CONFIG_PATH)));
  } catch (cause) {
    throw new Error(`Cannot read ${INIT_CONFIG_PATH}`, { cause });
  }
  const cmdline = Deno.readTextFileSync("/proc/cmdline");
  const name = programFromCmdline(cmdline) ?? cfg.defaultProgram;
  const program = cfg.programs[name];
  if (program === undefined) {
    throw new Error(
      `bronze.init=${JSON.stringify(name)} names no program of this image (${
        Object.keys(cfg.programs).join(", ")
      })`,
    );
  }

  using libc = Libc.open();
  const loaded = loadModules(libc, cfg.modules, {
    dir: `/lib/modules/${cfg.release}`,
  });
  log(`loaded ${loaded.length} modules`);

  const loop = attachLoop(sys, cfg.rootfs);
  const root = cfg.newRoot;
  // The root carries programs, but no set-uid file and no device node.
  sys.mount(loop, root, "squashfs", MS_RDONLY | MS_NOSUID | MS_NODEV);
  log(`mounted ${cfg.rootfs} (${loop}) read-only on ${root}`);
  if (cfg.preload && cfg.preload.length > 0) {
    preload(`${root}/usr/lib/modules/${cfg.release}`, cfg.preload, log);
  }

  for (const b of cfg.binds) {
    if (!exists(root + b)) {
      throw new Error(`The root squashfs has no mount point for ${b}`);
    }
    sys.mount(b, root + b, null, MS_BIND);
    sys.mount(
      null,
      root + b,
      null,
      MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV,
    );
  }
  if (!exists(root + program.script)) {
    throw new Error(
      `Program ${
        JSON.stringify(name)
      }: ${program.script} is not in the root filesystem`,
    );
  }
  for (const m of ["/dev", "/proc", "/sys"]) {
    sys.mount(m, root + m, null, MS_MOVE);
  }
  // A writable /run from the first instruction of PID 1 (Deno's cache dir).
  sys.mount(
    "tmpfs",
    root + "/run",
    "tmpfs",
    MS_NOSUID | MS_NODEV | MS_NOEXEC,
    "mode=0755",
  );
  const denoDir = cfg.env.DENO_DIR;
  if (cfg.denoDirSeed && denoDir) {
    const n = await seedDenoDir(cfg.denoDirSeed, root + denoDir);
    log(`warm Deno cache: ${n} files into ${denoDir}`);
  }

  sys.chdir(root);
  sys.mount(".", "/", null, MS_MOVE);
  sys.chroot(".");
  sys.chdir("/");
  // PID 1's environment, as an exec would set it (the kernel's leftovers go).
  for (const k of Object.keys(Deno.env.toObject())) {
    if (!(k in cfg.env)) Deno.env.delete(k);
  }
  for (const [k, v] of Object.entries(cfg.env)) Deno.env.set(k, v);
  log(`switched root; handing PID 1 to ${name}: ${program.script}`);
  // One turn of the event loop first: preloaded modules whose dependencies
  // are in by now start before the program's code holds this thread.
  await new Promise((r) => setTimeout(r, 0));
  await import(`file://${program.script}`);
}

const sys = Sys.open();
const log = bootLog("bronze-init", () => sys.uptime());
try {
  await boot(sys, log);
} catch (err) {
  log(`fatal: ${errorText(err)}`);
  Deno.exit(1);
}
