/**
 * /init.json: what the image build tells the initramfs init (which modules
 * to load, the root squashfs, the runtime to share with the root, and which
 * programs it may hand PID 1 to). Written by the build, validated by the init.
 * @module
 */

/**
 * A program the init hands PID 1 to on the new root: a bundle the init
 * imports into its own process, which then is that program's.
 */
export interface InitProgram {
  /** Absolute path of the bundled JS file on the new root. */
  script: string;
}

/** The contents of /init.json. */
export interface InitConfig {
  /** Kernel release: the modules live in /lib/modules/<release>. */
  release: string;
  /** Modules to load before mounting the root (closure from modules.dep). */
  modules: string[];
  /**
   * Modules of the root (paths under its /lib/modules/<release>, in load
   * order) the init starts loading in the background before it hands PID 1
   * over: the program's own early modules, loaded while its code loads.
   */
  preload?: string[];
  /** The root squashfs inside the initramfs. */
  rootfs: string;
  /** Where the root is mounted before switching to it. */
  newRoot: string;
  /**
   * Paths of the initramfs bind-mounted read-only at the same path on the new
   * root: the Deno runtime and its libraries exist once in the image.
   */
  binds: string[];
  /** Environment of the PID 1 program. */
  env: Record<string, string>;
  /** Programs by name (`bronze.init=<name>` on the kernel command line). */
  programs: Record<string, InitProgram>;
  /** The program used when the command line names none. */
  defaultProgram: string;
  /**
   * A folder of the initramfs holding a warm Deno cache (the init's own
   * DENO_DIR), copied into `env.DENO_DIR` on the new root for the programs
   * PID 1 starts (absent: they start with a cold cache).
   */
  denoDirSeed?: string;
}

/** Path of the config in the initramfs. */
export const INIT_CONFIG_PATH = "/init.json";

function fail(what: string, value: unknown): never {
  throw new Error(
    `Invalid ${INIT_CONFIG_PATH}: ${what} (got ${JSON.stringify(value)})`,
  );
}

function absPath(v: unknown, what: string): string {
  if (
    typeof v !== "string" || !v.startsWith("/") || v.includes("\0") ||
    v.split("/").includes("..")
  ) {
    fail(`${what} must be an absolute path`, v);
  }
  return v;
}

function strings(v: unknown, what: string): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) {
    fail(`${what} must be a list of strings`, v);
  }
  return v as string[];
}

/** Validates a parsed /init.json. */
export function parseInitConfig(raw: unknown): InitConfig {
  if (typeof raw !== "object" || raw === null) fail("not an object", raw);
  const r = raw as Record<string, unknown>;
  if (typeof r.release !== "string" || !/^[\w.+-]+$/.test(r.release)) {
    fail("release", r.release);
  }
  const env = r.env;
  if (
    typeof env !== "object" || env === null ||
    !Object.values(env).every((x) => typeof x === "string")
  ) fail("env must map names to strings", env);
  const programs: Record<string, InitProgram> = {};
  if (typeof r.programs !== "object" || r.programs === null) {
    fail("programs", r.programs);
  }
  for (
    const [name, p] of Object.entries(r.programs as Record<string, unknown>)
  ) {
    if (!/^[a-z][a-z0-9-]*$/.test(name)) fail("program name", name);
    const q = p as Record<string, unknown>;
    programs[name] = {
      script: absPath(q?.script, `programs.${name}.script`),
    };
  }
  if (typeof r.defaultProgram !== "string" || !(r.defaultProgram in programs)) {
    fail("defaultProgram must name a program", r.defaultProgram);
  }
  const preload = r.preload === undefined
    ? undefined
    : strings(r.preload, "preload").map((p) => {
      if (
        p.startsWith("/") || p.split("/").includes("..") || p.includes("\0")
      ) {
        fail("preload[] must be paths under the modules folder", p);
      }
      return p;
    });
  return {
    release: r.release as string,
    modules: strings(r.modules, "modules"),
    ...(preload === undefined ? {} : { preload }),
    rootfs: absPath(r.rootfs, "rootfs"),
    newRoot: absPath(r.newRoot, "newRoot"),
    binds: strings(r.binds, "binds").map((b) => absPath(b, "binds[]")),
    env: env as Record<string, string>,
    programs,
    defaultProgram: r.defaultProgram as string,
    ...(r.denoDirSeed === undefined
      ? {}
      : { denoDirSeed: absPath(r.denoDirSeed, "denoDirSeed") }),
  };
}

/** The `bronze.init=` value of a kernel command line, if any. */
export function programFromCmdline(cmdline: string): string | undefined {
  for (const word of cmdline.trim().split(/\s+/)) {
    if (word.startsWith("bronze.init=")) {
      return word.slice("bronze.init=".length);
    }
  }
  return undefined;
}
