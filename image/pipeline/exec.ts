/**
 * Running host tools for the image build: one call that throws with the
 * command and its stderr on failure, and a check that names the Debian
 * package to install for a missing tool.
 * @module
 */
import { findExecutable } from "../../lib/exec/mod.ts";

/** Options for {@linkcode run}. */
export interface RunOptions {
  /** Working directory. */
  cwd?: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Bytes written to the command's stdin. */
  stdin?: Uint8Array | Uint8Array[];
  /** Aborts the command (SIGTERM). */
  signal?: AbortSignal;
}

/** A host command the build needs, and where Debian ships it. */
export interface HostTool {
  /** Command name, looked up on PATH plus /usr/sbin and /sbin. */
  cmd: string;
  /** Debian package providing it. */
  pkg: string;
}

/** Host tools of the full image build. */
export const BUILD_TOOLS: readonly HostTool[] = [
  { cmd: "apt-get", pkg: "apt" },
  { cmd: "dpkg", pkg: "dpkg" },
  { cmd: "mksquashfs", pkg: "squashfs-tools" },
  { cmd: "zstd", pkg: "zstd" },
  // Debian's kernel is xz-compressed; vmlinux.ts unpacks it.
  { cmd: "xz", pkg: "xz-utils" },
  { cmd: "mkfs.ext4", pkg: "e2fsprogs" },
  // The image carries it: each service starts under its own identity.
  { cmd: "setpriv", pkg: "util-linux" },
  // Control planes run Debian's etcd.
  { cmd: "etcd", pkg: "etcd-server" },
];

/** The absolute path of `cmd`, or undefined when it is not installed. */
export const findTool: (cmd: string) => string | undefined = findExecutable;

/** Throws one error listing every missing tool and the packages to install. */
export function requireTools(tools: readonly HostTool[]): void {
  const missing = tools.filter((t) => findTool(t.cmd) === undefined);
  if (missing.length === 0) return;
  const pkgs = [...new Set(missing.map((t) => t.pkg))].join(" ");
  throw new Error(
    `The image build needs ${
      missing.map((t) => JSON.stringify(t.cmd)).join(", ")
    }, not found on PATH; install them with: apt-get install -y ${pkgs}`,
  );
}

/** Runs a command to completion; returns its stdout, throws on failure. */
export async function run(
  cmd: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<Uint8Array> {
  const exe = findTool(cmd) ?? cmd;
  const shown = [cmd, ...args].map((a) =>
    /^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a)
  ).join(" ");
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(exe, {
      args: [...args],
      cwd: options.cwd,
      env: options.env,
      stdin: options.stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
      signal: options.signal,
    }).spawn();
  } catch (cause) {
    throw new Error(`Cannot start ${shown}`, { cause });
  }
  // stdin is written while stdout is read: a command that answers before
  // it has read everything (a decompressor) would otherwise fill its
  // stdout pipe and wait for us while we wait for it.
  const writing = options.stdin === undefined
    ? Promise.resolve()
    : (async (stdin: Uint8Array | Uint8Array[]) => {
      const chunks = Array.isArray(stdin) ? stdin : [stdin];
      const w = child.stdin.getWriter();
      try {
        for (const c of chunks) await w.write(c);
        await w.close();
      } catch {
        // the command exited early; its status and stderr tell why
      }
    })(options.stdin);
  const [out] = await Promise.all([child.output(), writing]);
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n")
      .slice(-15).join("\n");
    throw new Error(
      `${shown} failed (exit ${out.code}${
        out.signal ? `, ${out.signal}` : ""
      })${err ? `:\n${err}` : ""}`,
    );
  }
  return out.stdout;
}

/** sha256 of bytes, lowercase hex. */
export async function sha256Hex(data: Uint8Array): Promise<string> {
  const d = await crypto.subtle.digest(
    "SHA-256",
    data as Uint8Array<ArrayBuffer>,
  );
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/** sha256 of a file, streamed, lowercase hex (uses node:crypto for streaming). */
export async function sha256File(path: string): Promise<string> {
  const { createHash } = await import("node:crypto");
  const h = createHash("sha256");
  using f = await Deno.open(path, { read: true });
  for await (const chunk of f.readable.values({ preventCancel: true })) {
    h.update(chunk);
  }
  return h.digest("hex");
}
