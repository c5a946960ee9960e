/**
 * Early hardware steps of an image-mode node, before any service runs: load
 * the modules the disk, the NIC and the config drive need, bring the
 * loopback up (the bus lives there), set the hostname, and wait for the
 * links networkd will configure.
 * @module
 */
import type { Libc } from "../../../lib/ffi/mod.ts";
import { RouteNetlink } from "../../../lib/netlink/mod.ts";
import { bytesEqual, parseCidr } from "../../../lib/netaddr/mod.ts";
import { loadModulesAsync } from "../../../lib/kmod/mod.ts";
import { errorText } from "../../../lib/log/mod.ts";
import { sleep } from "../runner/notifier.ts";

/** What loading the early modules did. */
export interface EarlyModules {
  /** Module files loaded (or already loaded), in order. */
  loaded: string[];
  /** Names that could not be loaded, with why. */
  failed: string[];
}

/**
 * Loads `names` with their dependencies from `dir` (modules.dep,
 * modules.softdep) on Deno's blocking pool, each once what it needs is in;
 * a module that fails is reported and the rest still load.
 */
export async function loadEarlyModules(
  libc: Libc,
  names: readonly string[],
  dir: string,
): Promise<EarlyModules> {
  try {
    return { loaded: await loadModulesAsync(libc, names, { dir }), failed: [] };
  } catch {
    // One bad apple: load them one by one to know which.
  }
  const loaded: string[] = [];
  const failed: string[] = [];
  for (const name of names) {
    try {
      for (const p of await loadModulesAsync(libc, [name], { dir })) {
        if (!loaded.includes(p)) loaded.push(p);
      }
    } catch (err) {
      failed.push(`${name} (${errorText(err)})`);
    }
  }
  return { loaded, failed };
}

/** Brings the loopback link up (a fresh kernel leaves it down). */
export async function loopbackUp(libc: Libc): Promise<void> {
  using nl = RouteNetlink.open(libc);
  const lo = (await nl.links()).find((l) => l.name === "lo");
  if (!lo) throw new Error("Cannot bring the loopback up: no link named lo");
  await nl.setLink({ index: lo.index, up: true });
}

/**
 * Puts the node address on its link now (link up, address added unless
 * present), as the kernel's own `ip=` would, so apid and trustd can start
 * while networkd is still starting; networkd then applies the whole network
 * section and finds the address in place. Returns whether it was added.
 */
export async function bootstrapAddress(
  libc: Libc,
  link: string,
  cidr: string,
): Promise<boolean> {
  const want = parseCidr(cidr);
  using nl = RouteNetlink.open(libc);
  const l = (await nl.links()).find((x) => x.name === link);
  if (!l) {
    throw new Error(
      `Cannot put ${cidr} on ${JSON.stringify(link)}: no such link`,
    );
  }
  await nl.setLink({ index: l.index, up: true });
  const have = (await nl.addresses()).some((a) =>
    a.index === l.index && a.prefix === want.prefix &&
    bytesEqual(a.bytes, want.bytes)
  );
  if (have) return false;
  await nl.addAddress({
    index: l.index,
    family: want.family,
    bytes: want.bytes,
    prefix: want.prefix,
  });
  return true;
}

/** Waits up to `timeoutMs` for every link in `names`; returns the missing ones. */
export async function waitForLinks(
  names: readonly string[],
  timeoutMs: number,
  signal: AbortSignal,
): Promise<string[]> {
  const missing = () =>
    names.filter((n) => {
      try {
        Deno.statSync(`/sys/class/net/${n}`);
        return false;
      } catch {
        return true;
      }
    });
  const deadline = Date.now() + timeoutMs;
  while (missing().length > 0 && Date.now() < deadline) {
    if (await sleep(50, signal)) break;
  }
  return missing();
}

/** Polls `find` every 50 ms for up to `timeoutMs`; its first result. */
export async function waitForValue<T>(
  find: () => T | undefined,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = find();
    if (v !== undefined || Date.now() >= deadline) return v;
    if (await sleep(50, signal)) return undefined;
  }
}
