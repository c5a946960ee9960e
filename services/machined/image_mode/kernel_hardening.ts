/**
 * The kernel self-protection settings an image node applies at boot, as
 * Talos applies KSPP's recommendations: kernel pointers and the kernel log
 * hidden from unprivileged programs, no perf events or BPF for them, ptrace
 * only of one's own descendants, no kexec, and the protected_* link and file
 * rules. Applied before any service starts, then read back.
 * @module
 */

/** One sysctl: its dotted name and the value it must hold. */
export interface KernelSetting {
  /** The sysctl name, e.g. "kernel.kptr_restrict". */
  name: string;
  /** The value written to /proc/sys. */
  value: string;
}

/** Every setting, in the order it is applied. */
export const KERNEL_SETTINGS: readonly KernelSetting[] = [
  { name: "kernel.kptr_restrict", value: "1" },
  { name: "kernel.dmesg_restrict", value: "1" },
  // 3 (no perf events without CAP_PERFMON) is Debian's patch of the kernel.
  { name: "kernel.perf_event_paranoid", value: "3" },
  { name: "kernel.yama.ptrace_scope", value: "1" },
  { name: "kernel.kexec_load_disabled", value: "1" },
  { name: "kernel.unprivileged_bpf_disabled", value: "1" },
  { name: "net.core.bpf_jit_harden", value: "2" },
  { name: "fs.protected_symlinks", value: "1" },
  { name: "fs.protected_hardlinks", value: "1" },
  { name: "fs.protected_fifos", value: "2" },
  { name: "fs.protected_regular", value: "2" },
];

/** The /proc/sys path of a sysctl name. */
export function sysctlPath(name: string, procSys = "/proc/sys"): string {
  if (!/^[a-z0-9_]+(\.[a-z0-9_]+)+$/.test(name)) {
    throw new Error(`Invalid sysctl name ${JSON.stringify(name)}`);
  }
  return `${procSys}/${name.replaceAll(".", "/")}`;
}

/** What applying the settings found. */
export interface HardeningResult {
  /** Every setting as read back after writing ("name=value"). */
  applied: string[];
  /** Settings that could not be written or read back as wanted. */
  problems: string[];
}

/**
 * Writes every setting and reads it back; a setting the kernel refuses or
 * holds at another value is a problem, not a failure of the boot.
 */
export async function applyKernelHardening(
  settings: readonly KernelSetting[] = KERNEL_SETTINGS,
  procSys = "/proc/sys",
): Promise<HardeningResult> {
  const result: HardeningResult = { applied: [], problems: [] };
  for (const s of settings) {
    const path = sysctlPath(s.name, procSys);
    try {
      await Deno.writeTextFile(path, `${s.value}\n`, { create: false });
      const now = (await Deno.readTextFile(path)).trim();
      if (now !== s.value) {
        result.problems.push(`${s.name} is ${now}, want ${s.value}`);
      } else {
        result.applied.push(`${s.name}=${now}`);
      }
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      result.problems.push(`${s.name}: ${why}`);
    }
  }
  return result;
}
