/**
 * Node's built-in modules fetched on first use instead of imported: a
 * static `import ... from "node:..."` starts Deno's Node compatibility layer
 * when the program loads (in a bundle, even when the importing code never
 * runs), which costs a daemon ~8 MB and, under QEMU TCG, most of a second.
 * The type-only imports below load nothing.
 * @module
 */
import type * as NodeBuffer from "node:buffer";
import type * as NodeCrypto from "node:crypto";
import type * as NodeTls from "node:tls";

interface BuiltinLoader {
  getBuiltinModule(id: string): unknown;
}

/** A Node built-in module by its `node:` name; throws when there is none. */
export function nodeBuiltin<T>(name: `node:${string}`): T {
  const p = (globalThis as { process?: BuiltinLoader }).process;
  const m = p?.getBuiltinModule(name);
  if (m === undefined) {
    throw new Error(`Cannot load the Node built-in ${name}`);
  }
  return m as T;
}

/** node:buffer's Buffer. */
export function nodeBuffer(): typeof NodeBuffer.Buffer {
  return nodeBuiltin<typeof NodeBuffer>("node:buffer").Buffer;
}

/** node:crypto. */
export function nodeCrypto(): typeof NodeCrypto {
  return nodeBuiltin<typeof NodeCrypto>("node:crypto");
}

/** node:tls. */
export function nodeTls(): typeof NodeTls {
  return nodeBuiltin<typeof NodeTls>("node:tls");
}
