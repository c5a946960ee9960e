/**
 * Restarts machined from another release in the same process (execve(2)),
 * so the node keeps its pid: `deno run ... <root>/services/machined/main.ts`
 * with the same flags. Only after every service has stopped.
 * @module
 */

/** The argv machined restarts with from `root`. */
export function releaseArgv(root: string, args: readonly string[]): string[] {
  return [
    Deno.execPath(),
    "run",
    "--quiet",
    "--no-prompt",
    "--allow-all",
    `${root}/services/machined/main.ts`,
    ...args,
  ];
}

/** Replaces this process with `argv` (returns only on failure, throwing). */
export function execve(argv: readonly string[]): never {
  const lib = Deno.dlopen("libc.so.6", {
    execve: { parameters: ["buffer", "buffer", "buffer"], result: "i32" },
  });
  const enc = new TextEncoder();
  const keep: Uint8Array[] = [];
  const table = (list: readonly string[]): Uint8Array => {
    const ptrs = new BigUint64Array(list.length + 1);
    list.forEach((s, i) => {
      const b = enc.encode(`${s}\0`);
      keep.push(b);
      ptrs[i] = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(b)));
    });
    return new Uint8Array(ptrs.buffer);
  };
  const env = Object.entries(Deno.env.toObject()).map(([k, v]) => `${k}=${v}`);
  lib.symbols.execve(enc.encode(`${argv[0]}\0`), table(argv), table(env));
  lib.close();
  throw new Error(
    `Cannot exec ${argv[0]}: execve failed (${keep.length} args)`,
  );
}
