/**
 * The kernel: Debian's signed linux-image package, pinned by name, version
 * and sha256, fetched with `apt-get download` into a cache and unpacked with
 * `dpkg -x` (nothing is installed on the host).
 * @module
 */

import { run, sha256File } from "./exec.ts";

/** Which Debian kernel package the image is built from. */
export interface KernelPin {
  /** Debian package name. */
  package: string;
  /** Exact Debian version. */
  version: string;
  /** Kernel release (`uname -r`, the /lib/modules folder name). */
  release: string;
  /** sha256 of the .deb. */
  sha256: string;
}

/** The pinned kernel (Debian 12 security update; boots under QEMU TCG). */
export const KERNEL_PIN: KernelPin = {
  package: "linux-image-6.1.0-56-amd64",
  version: "6.1.192-2",
  release: "6.1.0-56-amd64",
  sha256: "a86e2049672f52354c4536a089203b6c82639420424d31c91cf31a181fd4d8f1",
};

/** An unpacked kernel package. */
export interface UnpackedKernel {
  /** The pin it came from. */
  pin: KernelPin;
  /** The .deb in the cache. */
  deb: string;
  /** Path of vmlinuz. */
  vmlinuz: string;
  /** /lib/modules/<release> inside the unpacked tree. */
  modulesDir: string;
}

/** Options for {@linkcode fetchKernel}. */
export interface FetchKernelOptions {
  /** Cache folder (kept between builds, never committed). */
  cacheDir: string;
  /** Another pin (tests). */
  pin?: KernelPin;
  /** Progress messages. */
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  /** Aborts downloads and unpacking. */
  signal?: AbortSignal;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/**
 * Returns the pinned kernel unpacked in the cache, downloading and
 * unpacking it the first time. Fails clearly when the pinned version is no
 * longer downloadable or its checksum differs.
 */
export async function fetchKernel(
  options: FetchKernelOptions,
): Promise<UnpackedKernel> {
  const pin = options.pin ?? KERNEL_PIN;
  const log = options.log ?? (() => {});
  await Deno.mkdir(options.cacheDir, { recursive: true });
  const deb = `${options.cacheDir}/${pin.package}_${pin.version}_amd64.deb`;
  const root = `${options.cacheDir}/${pin.package}_${pin.version}`;
  const result: UnpackedKernel = {
    pin,
    deb,
    vmlinuz: `${root}/boot/vmlinuz-${pin.release}`,
    modulesDir: `${root}/lib/modules/${pin.release}`,
  };
  if (await exists(`${root}/.unpacked`)) return result;

  if (!(await exists(deb)) || (await sha256File(deb)) !== pin.sha256) {
    log("downloading kernel package", {
      package: pin.package,
      version: pin.version,
    });
    await Deno.remove(deb).catch(() => {});
    const download = () =>
      run("apt-get", [
        "download",
        "-q",
        "-o",
        "APT::Sandbox::User=root",
        `${pin.package}=${pin.version}`,
      ], { cwd: options.cacheDir, signal: options.signal });
    try {
      try {
        await download();
      } catch (first) {
        // A fresh machine has no package lists until "apt-get update" ran.
        if (Deno.uid() !== 0) throw first;
        log("apt-get update (package lists may be missing)");
        await run("apt-get", ["update", "-qq"], { signal: options.signal });
        await download();
      }
    } catch (cause) {
      const policy = await run("apt-cache", ["policy", pin.package])
        .then((b) => new TextDecoder().decode(b).trim())
        .catch((e) => `(apt-cache policy failed: ${e})`);
      throw new Error(
        `Cannot download the pinned kernel ${pin.package}=${pin.version}. ` +
          `If apt has never run here, run "apt-get update" first; if Debian ` +
          `no longer ships this version, pin another in image/pipeline/kernel.ts ` +
          `(KERNEL_PIN). apt-cache policy says:\n${policy}`,
        { cause },
      );
    }
    const sum = await sha256File(deb);
    if (sum !== pin.sha256) {
      throw new Error(
        `Kernel package ${
          JSON.stringify(deb)
        } has sha256 ${sum}, pinned ${pin.sha256}`,
      );
    }
  }

  log("unpacking kernel package", { deb });
  const tmp = `${root}.tmp`;
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
  await Deno.remove(root, { recursive: true }).catch(() => {});
  await run("dpkg", ["-x", deb, tmp], { signal: options.signal });
  for (
    const p of [
      `${tmp}/boot/vmlinuz-${pin.release}`,
      `${tmp}/lib/modules/${pin.release}`,
    ]
  ) {
    if (!(await exists(p))) {
      throw new Error(
        `Kernel package ${JSON.stringify(deb)} has no ${p.slice(tmp.length)}`,
      );
    }
  }
  await Deno.writeTextFile(
    `${tmp}/.unpacked`,
    `${pin.package}=${pin.version}\n`,
  );
  await Deno.rename(tmp, root);
  return result;
}
