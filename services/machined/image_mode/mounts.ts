/**
 * The mounts of an image-mode node: the pseudo file systems (skipping what
 * the initramfs init already mounted), cgroup2, tmpfs for /tmp, the state
 * and ephemeral partitions; and unmounting them at the end.
 * @module
 */
import {
  EBUSY,
  MNT_DETACH,
  MS_NOATIME,
  MS_NODEV,
  MS_NOEXEC,
  MS_NOSUID,
  MS_RDONLY,
  MS_REMOUNT,
  type Sys,
  SyscallError,
} from "../../../lib/ffi/mod.ts";

/** One mount to make. */
export interface MountSpec {
  /** Source (device or pseudo name). */
  source: string;
  /** Mount point. */
  target: string;
  /** File system type. */
  fstype: string;
  /** MS_* flags. */
  flags: number;
  /** File-system options. */
  data?: string;
}

/** The mounts every node gets before anything else, in order. */
export const EARLY_MOUNTS: readonly MountSpec[] = [
  {
    source: "proc",
    target: "/proc",
    fstype: "proc",
    flags: MS_NOSUID | MS_NOEXEC | MS_NODEV,
  },
  {
    source: "sysfs",
    target: "/sys",
    fstype: "sysfs",
    flags: MS_NOSUID | MS_NOEXEC | MS_NODEV,
  },
  {
    source: "devtmpfs",
    target: "/dev",
    fstype: "devtmpfs",
    flags: MS_NOSUID | MS_NOEXEC,
    data: "mode=0755",
  },
  {
    source: "tmpfs",
    target: "/run",
    fstype: "tmpfs",
    flags: MS_NOSUID | MS_NODEV | MS_NOEXEC,
    data: "mode=0755",
  },
  {
    source: "cgroup2",
    target: "/sys/fs/cgroup",
    fstype: "cgroup2",
    flags: MS_NOSUID | MS_NOEXEC | MS_NODEV,
  },
  {
    source: "tmpfs",
    target: "/tmp",
    fstype: "tmpfs",
    flags: MS_NOSUID | MS_NODEV | MS_NOEXEC,
    data: "mode=1777,size=64m",
  },
];

/** Flags of the state partition (config, nothing executable). */
export const STATE_FLAGS = MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME;
/** Flags of the ephemeral partition (data only: programs run from the root). */
export const EPHEMERAL_FLAGS = MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME;

/** The mount points listed in a /proc/self/mountinfo text. */
export function mountPoints(mountinfo: string): Set<string> {
  const out = new Set<string>();
  for (const line of mountinfo.split("\n")) {
    const f = line.split(" ");
    // 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw
    if (f.length >= 5) out.add(f[4].replace(/\\040/g, " "));
  }
  return out;
}

function currentMounts(): Set<string> {
  try {
    return mountPoints(Deno.readTextFileSync("/proc/self/mountinfo"));
  } catch {
    return new Set(); // /proc not mounted yet
  }
}

/**
 * Mounts each spec whose target is not a mount point yet (creating the
 * folder where the root allows it); returns the targets mounted now.
 */
export function mountMissing(sys: Sys, specs: readonly MountSpec[]): string[] {
  const done: string[] = [];
  for (const m of specs) {
    if (currentMounts().has(m.target)) continue;
    try {
      Deno.mkdirSync(m.target, { recursive: true });
    } catch {
      // read-only root: the image has the mount point
    }
    try {
      sys.mount(m.source, m.target, m.fstype, m.flags, m.data ?? null);
      done.push(m.target);
    } catch (err) {
      if (err instanceof SyscallError && err.errno === EBUSY) continue;
      throw new Error(`Cannot mount ${m.fstype} on ${m.target}`, {
        cause: err,
      });
    }
  }
  return done;
}

/** Processes holding files under `target` open ("pid comm: path"), for a busy unmount. */
export function holdersOf(target: string, procRoot = "/proc"): string[] {
  const out: string[] = [];
  const under = (p: string) => p === target || p.startsWith(`${target}/`);
  let pids: string[] = [];
  try {
    pids = [...Deno.readDirSync(procRoot)].map((e) => e.name)
      .filter((n) => /^\d+$/.test(n));
  } catch {
    return out;
  }
  for (const pid of pids) {
    const dir = `${procRoot}/${pid}`;
    let comm = "?";
    try {
      comm = Deno.readTextFileSync(`${dir}/comm`).trim();
    } catch {
      continue;
    }
    const links: string[] = ["cwd", "root"];
    try {
      for (const e of Deno.readDirSync(`${dir}/fd`)) links.push(`fd/${e.name}`);
    } catch {
      // no access
    }
    for (const l of links) {
      try {
        const p = Deno.readLinkSync(`${dir}/${l}`);
        if (under(p)) out.push(`${pid} ${comm}: ${l} -> ${p}`);
      } catch {
        // closed meanwhile
      }
    }
    try {
      for (const line of Deno.readTextFileSync(`${dir}/maps`).split("\n")) {
        const path = line.split(/\s+/).slice(5).join(" ");
        if (path && under(path)) {
          out.push(`${pid} ${comm}: mapped ${path}`);
          break;
        }
      }
    } catch {
      // kernel thread
    }
  }
  return out;
}

/**
 * Unmounts `targets` (last first) for a power-off or reboot: a busy one is
 * remounted read-only, then detached, so its journal is clean either way.
 * Returns what could not be unmounted cleanly.
 */
export function unmountAll(sys: Sys, targets: readonly string[]): string[] {
  const problems: string[] = [];
  for (const t of [...targets].reverse()) {
    try {
      sys.umount(t);
      continue;
    } catch (err) {
      const held = holdersOf(t);
      problems.push(
        `${t}: ${err instanceof Error ? err.message : err}${
          held.length ? ` (held by ${held.join("; ")})` : ""
        }`,
      );
    }
    try {
      sys.mount(null, t, null, MS_REMOUNT | MS_RDONLY);
    } catch {
      // nothing more to do before detaching
    }
    try {
      sys.umount(t, MNT_DETACH);
    } catch {
      // the sync before reboot(2) still flushes it
    }
  }
  return problems;
}
