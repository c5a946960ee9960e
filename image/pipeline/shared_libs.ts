/**
 * The shared libraries a set of host programs needs, found by reading ELF
 * DT_NEEDED entries recursively (no ldd, nothing is executed).
 * @module
 */

import { ElfFile } from "./elf.ts";

/** One library to carry into the image. */
export interface SharedLib {
  /** The name programs ask for (DT_NEEDED), e.g. "libc.so.6". */
  name: string;
  /** The real file on the host (symlinks resolved). */
  hostPath: string;
}

/** What a set of programs needs at run time. */
export interface RuntimeLibs {
  /** The ELF interpreter path the programs name (one for all of them). */
  interpreter: string;
  /** Every library, the interpreter included, sorted by name. */
  libs: SharedLib[];
}

/** Where Debian keeps x86-64 libraries. */
export const LIB_DIRS: readonly string[] = [
  "/lib/x86_64-linux-gnu",
  "/usr/lib/x86_64-linux-gnu",
  "/lib64",
  "/usr/lib64",
];

function findLib(name: string, dirs: readonly string[]): string | undefined {
  for (const d of dirs) {
    try {
      return Deno.realPathSync(`${d}/${name}`);
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

/**
 * The libraries `programs` need, recursively. Throws naming the program and
 * library that cannot be found, or when the programs name different
 * interpreters.
 */
export function resolveRuntimeLibs(
  programs: readonly string[],
  options: { dirs?: readonly string[] } = {},
): RuntimeLibs {
  const dirs = options.dirs ?? LIB_DIRS;
  const libs = new Map<string, string>();
  let interpreter: string | undefined;
  const queue: Array<{ file: string; from: string }> = programs.map((p) => ({
    file: p,
    from: p,
  }));
  const seen = new Set<string>();
  while (queue.length > 0) {
    const { file, from } = queue.shift()!;
    if (seen.has(file)) continue;
    seen.add(file);
    let dyn;
    {
      using elf = ElfFile.open(file);
      dyn = elf.dynamic();
    }
    if (dyn.interpreter !== undefined && programs.includes(file)) {
      if (interpreter !== undefined && interpreter !== dyn.interpreter) {
        throw new Error(
          `Programs need different ELF interpreters: ${interpreter} and ${dyn.interpreter} (${file})`,
        );
      }
      interpreter = dyn.interpreter;
      const base = dyn.interpreter.slice(dyn.interpreter.lastIndexOf("/") + 1);
      const real = findLib(base, [
        dyn.interpreter.slice(0, -base.length - 1),
        ...dirs,
      ]);
      if (real === undefined) {
        throw new Error(
          `Cannot find ELF interpreter ${dyn.interpreter} of ${file}`,
        );
      }
      libs.set(base, real);
    }
    for (const name of dyn.needed) {
      if (libs.has(name)) continue;
      const real = findLib(name, dirs);
      if (real === undefined) {
        throw new Error(
          `Cannot find library ${JSON.stringify(name)} needed by ${
            JSON.stringify(from)
          } (via ${file}) in ${dirs.join(", ")}`,
        );
      }
      libs.set(name, real);
      queue.push({ file: real, from });
    }
  }
  if (interpreter === undefined) {
    throw new Error(`None of ${programs.join(", ")} is dynamically linked`);
  }
  return {
    interpreter,
    libs: [...libs.entries()].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
      .map(([name, hostPath]) => ({ name, hostPath })),
  };
}
