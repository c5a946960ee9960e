/**
 * The whole image build: kernel, module closures, bundles, root squashfs,
 * initramfs, disk, manifest. Outputs in one folder: the image as shipped,
 * `vmlinuz` and `initramfs.zst` (or `.lz4`), with `rootfs.sqsh` (also inside
 * the initramfs), `disk.raw`, `cmdline`, `manifest.json`; and the same
 * kernel and initramfs uncompressed, as QEMU boots them fastest: `vmlinux`
 * (entered at its PVH entry point) and `initramfs.cpio`.
 * @module
 */

import { bundle } from "./bundle.ts";
import { buildCodeCache } from "./code_cache.ts";
import { cpioArchive } from "./cpio.ts";
import { makeDisk } from "./disk.ts";
import { BUILD_TOOLS, requireTools, run, sha256File } from "./exec.ts";
import { fetchKernel, type KernelPin } from "./kernel.ts";
import {
  indexModules,
  moduleTreeFiles,
  selectModules,
} from "./module_index.ts";
import { makeSquashfs } from "./squashfs.ts";
import { extractVmlinux } from "./vmlinux.ts";
import { resolveRuntimeLibs } from "./shared_libs.ts";
import {
  cpioEntriesOf,
  type ManifestEntry,
  stageTree,
  type TreeEntry,
  treeManifest,
} from "./tree.ts";
import type { InitConfig } from "../init/init_config.ts";
import {
  BOOT_MODULES,
  BUNDLE_DIR,
  DENO_PATH,
  EARLY_MODULES,
  EPHEMERAL_MOUNT,
  ETCD_PATH,
  IMAGE_DAEMONS,
  IMAGE_MODULES,
  IMAGE_V8_FLAGS,
  imageCmdline,
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
} from "../../lib/layout/mod.ts";

/** Options for {@linkcode buildImage}. */
export interface BuildImageOptions {
  /** Output folder (created; its previous artifacts are replaced). */
  outDir: string;
  /** Cache for the kernel package (kept between builds). */
  cacheDir: string;
  /** Repository root (services/, image/, deno.json). */
  repoRoot: string;
  /** Daemons to bundle; default every one of IMAGE_DAEMONS with a main.ts. */
  daemons?: readonly string[];
  /** The Deno runtime to carry; default the one running the build. */
  deno?: string;
  /** nats-server to carry; default /usr/sbin/nats-server. */
  natsServer?: string;
  /** util-linux's setpriv to carry; default /usr/bin/setpriv. */
  setpriv?: string;
  /** etcd to carry; default /usr/bin/etcd (Debian's etcd-server). */
  etcd?: string;
  /** zstd level of the squashfs (default 19). */
  squashfsLevel?: number;
  /** Compression of the initramfs (default zstd). */
  initramfsCompression?: InitramfsCompression;
  /** Compression level of the initramfs (default 9, both zstd and lz4). */
  initramfsLevel?: number;
  /** Disk size in bytes (default 2 GiB, sparse); 0 for no disk. */
  diskSize?: number;
  /** Progress messages. */
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  /** Aborts the build. */
  signal?: AbortSignal;
}

/**
 * How the initramfs is compressed. zstd: 44 MB, unpacked in ~1.5 s under
 * TCG; lz4: 55 MB, ~0.8 s, but QEMU loads the bigger file slower and the
 * boot to PID 1 measured the same (bench/boot_bench.ts), so zstd is the
 * default.
 */
export type InitramfsCompression = "zstd" | "lz4";

/** The initramfs file name for a compression. */
export function initramfsName(c: InitramfsCompression): string {
  return c === "lz4" ? "initramfs.lz4" : "initramfs.zst";
}

/** One artifact of the build. */
export interface Artifact {
  /** File name in the output folder. */
  name: string;
  /** Size in bytes (apparent). */
  size: number;
  /** sha256. */
  sha256: string;
}

/** What a build produced (also written as manifest.json). */
export interface BuildManifest {
  /** The kernel package. */
  kernel: KernelPin;
  /** Deno version carried. */
  deno: string;
  /** Daemons bundled. */
  daemons: string[];
  /** Program the init runs by default. */
  defaultProgram: string;
  /** Kernel command line. */
  cmdline: string;
  /** Compression of the initramfs. */
  initramfsCompression: InitramfsCompression;
  /** Modules: the initramfs's, the root's, and requested ones built in. */
  modules: { boot: string[]; image: string[]; builtin: string[] };
  /** Output files. */
  artifacts: Artifact[];
  /**
   * Sizes in bytes: squashfs, initramfs, kernel, total (kernel + initramfs,
   * compressed: the image as shipped), and the uncompressed forms QEMU boots.
   */
  sizes: {
    squashfs: number;
    initramfs: number;
    kernel: number;
    total: number;
    bootKernel: number;
    bootInitramfs: number;
  };
  /** Every file of the root squashfs. */
  rootfs: ManifestEntry[];
  /** Every file of the initramfs. */
  initramfs: ManifestEntry[];
  /** Seconds each step took. */
  durations: Record<string, number>;
}

/** Paths of a build's outputs. */
export interface BuiltImage {
  /** The output folder. */
  outDir: string;
  /** vmlinuz (Debian's bzImage, as shipped). */
  kernel: string;
  /** initramfs.zst or initramfs.lz4 (as shipped). */
  initramfs: string;
  /**
   * What QEMU boots: the same kernel and initramfs uncompressed (vmlinux
   * through its PVH entry, initramfs.cpio). Under TCG the guest's own
   * decompression of the two costs ~4 s of a boot.
   */
  boot: { kernel: string; initramfs: string };
  /** rootfs.sqsh. */
  rootfs: string;
  /** disk.raw, if made. */
  disk?: string;
  /** The kernel command line. */
  cmdline: string;
  /** The manifest. */
  manifest: BuildManifest;
}

/** File names in the output folder. */
export const OUTPUT_NAMES = {
  kernel: "vmlinuz",
  bootKernel: "vmlinux",
  bootInitramfs: "initramfs.cpio",
  rootfs: "rootfs.sqsh",
  disk: "disk.raw",
  cmdline: "cmdline",
  manifest: "manifest.json",
} as const;

function strip(path: string): string {
  return path.replace(/^\/+/, "");
}

async function existingDaemons(repoRoot: string): Promise<string[]> {
  const out: string[] = [];
  for (const d of IMAGE_DAEMONS) {
    try {
      await Deno.stat(`${repoRoot}/services/${d}/main.ts`);
      out.push(d);
    } catch {
      // not written yet
    }
  }
  return out;
}

/** Builds the image; see the module doc for the outputs. */
export async function buildImage(
  options: BuildImageOptions,
): Promise<BuiltImage> {
  const log = options.log ?? (() => {});
  const signal = options.signal;
  const durations: Record<string, number> = {};
  const step = async <T>(name: string, f: () => Promise<T>): Promise<T> => {
    signal?.throwIfAborted();
    const t0 = performance.now();
    log("build step", { step: name });
    const r = await f();
    durations[name] = Math.round(performance.now() - t0) / 1000;
    return r;
  };

  const compression = options.initramfsCompression ?? "zstd";
  if (compression !== "zstd" && compression !== "lz4") {
    throw new Error(
      `Unknown initramfs compression ${
        JSON.stringify(compression)
      } (zstd, lz4)`,
    );
  }
  requireTools([
    ...BUILD_TOOLS,
    ...(compression === "lz4" ? [{ cmd: "lz4", pkg: "lz4" }] : []),
  ]);
  const initramfsFile = initramfsName(compression);
  const deno = options.deno ?? Deno.execPath();
  const nats = options.natsServer ?? NATS_SERVER_PATH;
  const out = options.outDir;
  const stage = `${out}/stage`;
  await Deno.mkdir(stage, { recursive: true });

  const kernel = await step(
    "kernel",
    () => fetchKernel({ cacheDir: options.cacheDir, log, signal }),
  );
  const release = kernel.pin.release;
  const modules = await step("modules", () => indexModules(kernel.modulesDir));
  const bootSel = selectModules(modules, BOOT_MODULES);
  const imageSel = selectModules(modules, IMAGE_MODULES);
  const earlySel = selectModules(modules, EARLY_MODULES);
  for (const u of [...bootSel.unresolved, ...imageSel.unresolved]) {
    log("unresolved module softdep", { softdep: u });
  }

  const setpriv = options.setpriv ?? SETPRIV_PATH;
  const etcd = options.etcd ?? ETCD_PATH;
  const runtime = resolveRuntimeLibs([deno, nats, setpriv, etcd]);
  const denoVersion = new TextDecoder().decode(
    await run(deno, ["--version"]),
  ).split("\n")[0];

  // Bundles: the init and probe always; each daemon that exists.
  const daemons = options.daemons
    ? [...options.daemons]
    : await existingDaemons(options.repoRoot);
  // apid's maintenance form (a node without a config) is a program of its own.
  const extraBundles = daemons.includes("apid")
    ? [{ name: "apid-maintenance", entry: "services/apid/maintenance_main.ts" }]
    : [];
  const bundles = `${stage}/bundles`;
  await Deno.remove(bundles, { recursive: true }).catch(() => {});
  await Deno.mkdir(bundles, { recursive: true });
  // Chunk files the daemons' bundles import (dynamically imported code).
  const chunks = new Set<string>();
  await step("bundle", async () => {
    const jobs: Array<[string, string]> = [
      ["image/init/main.ts", `${bundles}/init.js`],
      ["image/probe/main.ts", `${bundles}/probe.js`],
      ...daemons.map((d): [string, string] => [
        d === "machined" ? PID1_ENTRY : `services/${d}/main.ts`,
        `${bundles}/${d}.js`,
      ]),
      ...extraBundles.map((b): [string, string] => [
        b.entry,
        `${bundles}/${b.name}.js`,
      ]),
    ];
    for (const [entry, file] of jobs) {
      // The init and the probe use no npm package and run before /proc;
      // the init is alone in the initramfs, so it stays one file.
      const program = !entry.startsWith("image/");
      const written = await bundle(entry, file, {
        deno,
        cwd: options.repoRoot,
        signal,
        nodeRequire: program,
        codeSplitting: program,
      });
      for (const c of written) chunks.add(c);
    }
  });

  const cacheFiles = await step("code-cache", () =>
    buildCodeCache({
      deno,
      bundleDir: bundles,
      names: ["probe", ...daemons, ...extraBundles.map((b) => b.name)],
      chunks: [...chunks].sort(),
      imageBundleDir: BUNDLE_DIR,
      // The init runs from the initramfs's root, not the bundles' folder.
      elsewhere: { "init.js": INIT_SCRIPT },
      scratchDir: `${stage}/deno-dir`,
      outDir: `${stage}/code-cache`,
      v8Flags: IMAGE_V8_FLAGS,
      signal,
    }));

  const modulesDir = `usr/lib/modules/${release}`;
  const dirs = (paths: string[], mode = 0o755): TreeEntry[] =>
    paths.map((path) => ({ path, type: "dir", mode }));
  const enc = new TextEncoder();

  // The root: everything but the runtime, which it gets by bind mounts.
  const rootfs: TreeEntry[] = [
    ...dirs([
      "dev",
      "proc",
      "sys",
      "run",
      "system",
      strip(STATE_MOUNT),
      "etc",
    ]),
    { path: "tmp", type: "dir", mode: 0o1777 },
    { path: "bin", type: "symlink", target: "usr/bin" },
    { path: "sbin", type: "symlink", target: "usr/sbin" },
    { path: "lib", type: "symlink", target: "usr/lib" },
    { path: "lib64", type: "symlink", target: "usr/lib/x86_64-linux-gnu" },
    {
      path: strip(DENO_PATH),
      type: "file",
      mode: 0o755,
      source: new Uint8Array(0),
    },
    ...dirs([strip(LIB_DIR), strip(BUNDLE_DIR), strip(EPHEMERAL_MOUNT)]),
    { path: strip(NATS_SERVER_PATH), type: "file", mode: 0o755, source: nats },
    { path: strip(SETPRIV_PATH), type: "file", mode: 0o755, source: setpriv },
    { path: strip(ETCD_PATH), type: "file", mode: 0o755, source: etcd },
    {
      path: "etc/os-release",
      type: "file",
      mode: 0o644,
      source: enc.encode(
        'NAME="Bronze"\nID=bronze\nPRETTY_NAME="Bronze"\nHOME_URL="https://github.com/"\n',
      ),
    },
    {
      path: "etc/hosts",
      type: "file",
      mode: 0o644,
      source: enc.encode("127.0.0.1 localhost\n::1 localhost\n"),
    },
    ...["probe", ...daemons, ...extraBundles.map((b) => b.name)].map((
      d,
    ): TreeEntry => ({
      path: `${strip(BUNDLE_DIR)}/${d}.js`,
      type: "file",
      mode: 0o644,
      source: `${bundles}/${d}.js`,
    })),
    ...[...chunks].sort().map((c): TreeEntry => ({
      path: `${strip(BUNDLE_DIR)}/${c}`,
      type: "file",
      mode: 0o644,
      source: `${bundles}/${c}`,
    })),
    {
      path: `${strip(BUNDLE_DIR)}/build_info.json`,
      type: "file",
      mode: 0o644,
      source: enc.encode(
        JSON.stringify(await buildInfo(options.repoRoot)) + "\n",
      ),
    },
    ...moduleTreeFiles(modules, kernel.modulesDir, imageSel).map((
      f,
    ): TreeEntry => ({
      path: `${modulesDir}/${f.path}`,
      type: "file",
      mode: 0o644,
      source: f.source,
    })),
  ];
  await step("squashfs", async () => {
    await stageTree(rootfs, `${stage}/rootfs`);
    await makeSquashfs(`${stage}/rootfs`, `${out}/${OUTPUT_NAMES.rootfs}`, {
      level: options.squashfsLevel,
      signal,
    });
  });

  const defaultProgram = daemons.includes("machined") ? "machined" : "probe";
  const programs: InitConfig["programs"] = {
    probe: { script: `${BUNDLE_DIR}/probe.js` },
  };
  if (daemons.includes("machined")) {
    programs.machined = { script: `${BUNDLE_DIR}/machined.js` };
  }
  const initConfig: InitConfig = {
    release,
    modules: [...BOOT_MODULES],
    rootfs: ROOTFS_IN_INITRAMFS,
    newRoot: NEW_ROOT,
    binds: [DENO_PATH, LIB_DIR],
    env: { ...PID1_ENV },
    // machined's early modules: the init starts them (see init/main.ts).
    ...(daemons.includes("machined") ? { preload: earlySel.paths } : {}),
    denoDirSeed: cacheFiles.length > 0 ? INIT_DENO_DIR : undefined,
    programs,
    defaultProgram,
  };

  // The initramfs: the runtime, the init, the boot modules, the root.
  const initramfs: TreeEntry[] = [
    { path: "dev", type: "dir", mode: 0o755 },
    { path: "dev/console", type: "char", mode: 0o600, major: 5, minor: 1 },
    { path: "dev/null", type: "char", mode: 0o666, major: 1, minor: 3 },
    ...dirs(["proc", "sys", strip(NEW_ROOT)]),
    { path: "bin", type: "symlink", target: "usr/bin" },
    { path: "lib", type: "symlink", target: "usr/lib" },
    { path: "lib64", type: "symlink", target: "usr/lib/x86_64-linux-gnu" },
    { path: strip(DENO_PATH), type: "file", mode: 0o755, source: deno },
    ...runtime.libs.map((l): TreeEntry => ({
      path: `${strip(LIB_DIR)}/${l.name}`,
      type: "file",
      mode: 0o755,
      source: l.hostPath,
    })),
    {
      path: strip(INIT_SCRIPT),
      type: "file",
      mode: 0o644,
      source: `${bundles}/init.js`,
    },
    {
      path: "init.json",
      type: "file",
      mode: 0o644,
      source: enc.encode(JSON.stringify(initConfig, null, 2) + "\n"),
    },
    ...moduleTreeFiles(modules, kernel.modulesDir, bootSel)
      .filter((f) =>
        f.path.endsWith(".ko") || f.path === "modules.dep" ||
        f.path === "modules.softdep"
      )
      .map((f): TreeEntry => ({
        path: `${modulesDir}/${f.path}`,
        type: "file",
        mode: 0o644,
        source: f.source,
      })),
    {
      path: strip(ROOTFS_IN_INITRAMFS),
      type: "file",
      mode: 0o444,
      source: `${out}/${OUTPUT_NAMES.rootfs}`,
    },
    // The warm Deno cache: the init's DENO_DIR (writable: SQLite).
    ...(cacheFiles.length > 0 ? dirs([strip(INIT_DENO_DIR)]) : []),
    ...cacheFiles.map((f): TreeEntry => ({
      path: `${strip(INIT_DENO_DIR)}/${f}`,
      type: "file",
      mode: 0o644,
      source: `${stage}/code-cache/${f}`,
    })),
  ];
  await step("initramfs", async () => {
    const cpio = `${out}/${OUTPUT_NAMES.bootInitramfs}`;
    using f = await Deno.open(cpio, {
      write: true,
      create: true,
      truncate: true,
    });
    for (const c of cpioArchive(await cpioEntriesOf(initramfs))) {
      let done = 0;
      while (done < c.length) done += await f.write(c.subarray(done));
    }
    const target = `${out}/${initramfsFile}`;
    for (const c of ["zstd", "lz4"] as const) {
      await Deno.remove(`${out}/${initramfsName(c)}`).catch(() => {});
    }
    const level = options.initramfsLevel ?? 9;
    await run(
      compression,
      compression === "lz4"
        // -l: the legacy frame format, the one the kernel's unpacker reads.
        ? ["-q", `-${level}`, "-l", "-f", cpio, target]
        // -T2: a fixed worker count keeps the output the same on every machine.
        : ["-q", `-${level}`, "-T2", "-f", cpio, "-o", target],
      { signal },
    );
  });

  await Deno.copyFile(kernel.vmlinuz, `${out}/${OUTPUT_NAMES.kernel}`);
  await step(
    "vmlinux",
    () =>
      extractVmlinux(kernel.vmlinuz, `${out}/${OUTPUT_NAMES.bootKernel}`, {
        signal,
      }),
  );
  const cmdline = imageCmdline();
  await Deno.writeTextFile(`${out}/${OUTPUT_NAMES.cmdline}`, cmdline + "\n");
  const diskSize = options.diskSize ?? 2048 * 1024 * 1024;
  if (diskSize > 0) {
    await step(
      "disk",
      () => makeDisk(`${out}/${OUTPUT_NAMES.disk}`, { size: diskSize, signal }),
    );
  } else {
    await Deno.remove(`${out}/${OUTPUT_NAMES.disk}`).catch(() => {});
  }

  const manifest = await step("manifest", async (): Promise<BuildManifest> => {
    const names: string[] = [
      OUTPUT_NAMES.kernel,
      initramfsFile,
      OUTPUT_NAMES.rootfs,
      OUTPUT_NAMES.cmdline,
      OUTPUT_NAMES.bootKernel,
      OUTPUT_NAMES.bootInitramfs,
    ];
    if (diskSize > 0) names.push(OUTPUT_NAMES.disk);
    const artifacts: Artifact[] = [];
    for (const name of names) {
      const path = `${out}/${name}`;
      artifacts.push({
        name,
        size: (await Deno.stat(path)).size,
        sha256: await sha256File(path),
      });
    }
    const size = (n: string) => artifacts.find((a) => a.name === n)?.size ?? 0;
    return {
      kernel: kernel.pin,
      deno: denoVersion,
      daemons,
      defaultProgram,
      cmdline,
      initramfsCompression: compression,
      modules: {
        boot: bootSel.paths,
        image: imageSel.paths,
        builtin: [...bootSel.builtin, ...imageSel.builtin],
      },
      artifacts,
      sizes: {
        squashfs: size(OUTPUT_NAMES.rootfs),
        initramfs: size(initramfsFile),
        kernel: size(OUTPUT_NAMES.kernel),
        total: size(initramfsFile) + size(OUTPUT_NAMES.kernel),
        bootKernel: size(OUTPUT_NAMES.bootKernel),
        bootInitramfs: size(OUTPUT_NAMES.bootInitramfs),
      },
      rootfs: await treeManifest(rootfs),
      initramfs: await treeManifest(initramfs),
      durations,
    };
  });
  await Deno.writeTextFile(
    `${out}/${OUTPUT_NAMES.manifest}`,
    JSON.stringify(manifest, null, 2) + "\n",
  );
  return builtImageAt(out, manifest);
}

/**
 * What Version reports for this build (machined reads
 * /usr/lib/bronze/build_info.json): the checkout's commit and its time.
 */
async function buildInfo(
  repoRoot: string,
): Promise<{ tag: string; sha: string; built: string }> {
  const git = async (args: string[]) => {
    try {
      return new TextDecoder().decode(
        await run("git", ["-C", repoRoot, ...args]),
      ).trim();
    } catch {
      return "";
    }
  };
  return {
    tag: (await git(["describe", "--tags", "--exact-match"])) ||
      "v0.1.0-dev",
    sha: (await git(["rev-parse", "HEAD"])) || "unknown",
    built: (await git(["log", "-1", "--format=%cI"])) || "unknown",
  };
}

/** The paths of a build in `outDir` with its manifest. */
export function builtImageAt(
  outDir: string,
  manifest: BuildManifest,
): BuiltImage {
  const hasDisk = manifest.artifacts.some((a) => a.name === OUTPUT_NAMES.disk);
  return {
    outDir,
    kernel: `${outDir}/${OUTPUT_NAMES.kernel}`,
    initramfs: `${outDir}/${
      initramfsName(manifest.initramfsCompression ?? "zstd")
    }`,
    boot: {
      kernel: `${outDir}/${OUTPUT_NAMES.bootKernel}`,
      initramfs: `${outDir}/${OUTPUT_NAMES.bootInitramfs}`,
    },
    rootfs: `${outDir}/${OUTPUT_NAMES.rootfs}`,
    disk: hasDisk ? `${outDir}/${OUTPUT_NAMES.disk}` : undefined,
    cmdline: manifest.cmdline,
    manifest,
  };
}
