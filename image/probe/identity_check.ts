/**
 * The probe's check of a service identity, from inside the booted image: a
 * child started the way machined starts apid (SERVICE_IDENTITIES through the
 * image's setpriv)
 * tries to read a root-only file, to load a module and to ptrace PID 1, and
 * reports each errno; the probe prints what it saw.
 * @module
 */
import {
  DENO_PATH,
  SERVICE_IDENTITIES,
  SETPRIV_PATH,
  setprivArgs,
} from "../../lib/layout/mod.ts";

/** The flag that makes the probe's bundle run the child's half. */
export const IDENTITY_CHECK_FLAG = "--identity-check";

const ERRNO_NAMES: Readonly<Record<number, string>> = {
  0: "none",
  1: "EPERM",
  9: "EBADF",
  13: "EACCES",
  38: "ENOSYS",
};

/** The child's half: tries each thing and prints one line of results. */
export function identityCheckChild(secretPath: string): void {
  const libc = Deno.dlopen("libc.so.6", {
    syscall: { parameters: ["i64", "i64", "pointer", "i64"], result: "i64" },
    ptrace: {
      parameters: ["i64", "i64", "pointer", "pointer"],
      result: "i64",
    },
    __errno_location: { parameters: [], result: "pointer" },
  });
  const errno = (): string => {
    const p = libc.symbols.__errno_location();
    const n = p ? new Deno.UnsafePointerView(p).getInt32() : -1;
    return ERRNO_NAMES[n] ?? String(n);
  };
  let read: string;
  try {
    Deno.readTextFileSync(secretPath);
    read = "none";
  } catch (err) {
    read = err instanceof Deno.errors.PermissionDenied ? "EACCES" : String(err);
  }
  const FINIT_MODULE = 313n;
  const module = libc.symbols.syscall(FINIT_MODULE, -1n, null, 0n) < 0
    ? errno()
    : "none";
  const PTRACE_ATTACH = 16n;
  const ptrace = libc.symbols.ptrace(PTRACE_ATTACH, 1n, null, null) < 0
    ? errno()
    : "none";
  const status = Deno.readTextFileSync("/proc/self/status");
  const uid = /^Uid:\s*(\d+)/m.exec(status)?.[1] ?? "?";
  const cap = /^CapEff:\s*(\S+)/m.exec(status)?.[1] ?? "?";
  console.log(
    `uid=${uid} capeff=${cap} read=${read} module=${module} ptrace=${ptrace}`,
  );
  libc.close();
}

/** The probe's half: starts the child as apid and returns its line. */
export async function checkServiceIdentity(bundle: string): Promise<string> {
  const secret = "/tmp/identity-check.key";
  Deno.writeTextFileSync(secret, "key\n", { mode: 0o600 });
  const out = await new Deno.Command(SETPRIV_PATH, {
    args: [
      ...setprivArgs(SERVICE_IDENTITIES.apid),
      "--",
      DENO_PATH,
      "run",
      "-A",
      "--no-config",
      bundle,
      IDENTITY_CHECK_FLAG,
      secret,
    ],
    env: { DENO_DIR: "/tmp/identity-check-deno", NO_COLOR: "1" },
    clearEnv: true,
    stdin: "null",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  return out.code === 0
    ? text.split("\n").at(-1) ?? "(no output)"
    : `exit ${out.code}: ${text} ${new TextDecoder().decode(out.stderr)}`;
}
