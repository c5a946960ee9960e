/**
 * A file tree to put into an image, described as data: staged into a folder
 * (for mksquashfs), turned into cpio entries (for the initramfs), and listed
 * with sha256 sums (for the manifest).
 * @module
 */

import { type CpioEntry, normalizeEntries } from "./cpio.ts";
import { sha256File, sha256Hex } from "./exec.ts";

/** One member of a tree; a file's bytes come from a host path or memory. */
export type TreeEntry =
  | { path: string; type: "dir"; mode: number }
  | { path: string; type: "file"; mode: number; source: string | Uint8Array }
  | { path: string; type: "symlink"; target: string }
  | {
    path: string;
    type: "char";
    mode: number;
    major: number;
    minor: number;
  };

/** One manifest line. */
export interface ManifestEntry {
  /** Absolute path in the image. */
  path: string;
  /** Entry type. */
  type: TreeEntry["type"];
  /** Permission bits, octal string ("0755"). */
  mode: string;
  /** Size in bytes (files). */
  size?: number;
  /** sha256 (files). */
  sha256?: string;
  /** Link target (symlinks). */
  target?: string;
  /** "major:minor" (device nodes). */
  device?: string;
}

/** Sorted entries with parents added, as cpio writes them (no file reads). */
export function normalizeTree(entries: readonly TreeEntry[]): TreeEntry[] {
  const placeholder = new Uint8Array(0);
  const byPath = new Map(entries.map((e) => [e.path, e]));
  return normalizeEntries(
    entries.map((e): CpioEntry =>
      e.type === "file"
        ? { path: e.path, type: "file", mode: e.mode, data: placeholder }
        : e
    ),
  ).map((e) => byPath.get(e.path) ?? e as TreeEntry);
}

/** Writes the tree into the empty or missing folder `dir`. */
export async function stageTree(
  entries: readonly TreeEntry[],
  dir: string,
): Promise<void> {
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.mkdir(dir, { recursive: true });
  await Deno.chmod(dir, 0o755);
  for (const e of normalizeTree(entries)) {
    const p = `${dir}/${e.path}`;
    switch (e.type) {
      case "dir":
        await Deno.mkdir(p);
        await Deno.chmod(p, e.mode);
        break;
      case "file":
        if (typeof e.source === "string") await Deno.copyFile(e.source, p);
        else await Deno.writeFile(p, e.source);
        await Deno.chmod(p, e.mode);
        break;
      case "symlink":
        await Deno.symlink(e.target, p);
        break;
      case "char":
        throw new Error(
          `Cannot stage device node ${JSON.stringify(e.path)} in a folder`,
        );
    }
  }
}

/** The tree as cpio entries, reading host files into memory. */
export async function cpioEntriesOf(
  entries: readonly TreeEntry[],
): Promise<CpioEntry[]> {
  const out: CpioEntry[] = [];
  for (const e of entries) {
    if (e.type === "file") {
      const data = typeof e.source === "string"
        ? await Deno.readFile(e.source)
        : e.source;
      out.push({ path: e.path, type: "file", mode: e.mode, data });
    } else {
      out.push(e);
    }
  }
  return out;
}

/** Manifest lines for a tree: every entry, with size and sha256 of files. */
export async function treeManifest(
  entries: readonly TreeEntry[],
): Promise<ManifestEntry[]> {
  const out: ManifestEntry[] = [];
  for (const e of normalizeTree(entries)) {
    const line: ManifestEntry = {
      path: `/${e.path}`,
      type: e.type,
      mode: e.type === "symlink" ? "0777" : e.mode.toString(8).padStart(4, "0"),
    };
    if (e.type === "file") {
      if (typeof e.source === "string") {
        line.size = (await Deno.stat(e.source)).size;
        line.sha256 = await sha256File(e.source);
      } else {
        line.size = e.source.length;
        line.sha256 = await sha256Hex(e.source);
      }
    } else if (e.type === "symlink") {
      line.target = e.target;
    } else if (e.type === "char") {
      line.device = `${e.major}:${e.minor}`;
    }
    out.push(line);
  }
  return out;
}
