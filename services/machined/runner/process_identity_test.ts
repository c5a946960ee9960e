import {
  assertEquals,
  assertIncludes,
  assertThrows,
  tempDir,
} from "../../../lib/testing/mod.ts";
import { findExecutable } from "../../../lib/exec/mod.ts";
import { type ProcessIdentity, setprivArgs } from "../../../lib/layout/mod.ts";
import { GroupProcessRunner } from "./process_runner.ts";

const ENV = { PATH: "/usr/bin:/bin" };
const CAP_NET_ADMIN = 12;
const CAP_SYS_MODULE = 16;

Deno.test("setprivArgs() names the ids, no groups, no_new_privs and only the given capabilities", async (t) => {
  await t.step("a daemon with one capability", () => {
    assertEquals(
      setprivArgs({ uid: 53, gid: 53, capabilities: ["net_admin"] }),
      [
        "--reuid=53",
        "--regid=53",
        "--clear-groups",
        "--no-new-privs",
        "--inh-caps=-all,+net_admin",
        "--ambient-caps=-all,+net_admin",
        "--bounding-set=-all,+net_admin",
      ],
    );
  });
  await t.step("root, a negative or a fractional id is refused", () => {
    for (const uid of [0, -1, 1.5, 70000]) {
      assertThrows(
        () => setprivArgs({ uid, gid: 5, capabilities: [] }),
        Error,
        `Invalid uid ${uid}`,
      );
    }
    assertThrows(
      () => setprivArgs({ uid: 5, gid: 0, capabilities: [] }),
      Error,
      "Invalid gid 0",
    );
  });
  await t.step("a capability name that is not one is refused", () => {
    assertThrows(
      () => setprivArgs({ uid: 5, gid: 5, capabilities: ["all,+sys_admin"] }),
      Error,
      'Invalid capability name "all,+sys_admin"',
    );
  });
});

Deno.test("GroupProcessRunner refuses an identity without setpriv", () => {
  const runner = new GroupProcessRunner({ setpriv: null, setsid: null });
  assertThrows(
    () =>
      runner.start({
        command: "/bin/true",
        args: [],
        env: ENV,
        identity: { uid: 51, gid: 51, capabilities: [] },
      }, () => {}),
    Error,
    'Cannot start "/bin/true" as uid 51: setpriv not found',
  );
});

/** Runs `script` (Python) under `identity`; returns its stdout lines. */
async function runAs(
  identity: ProcessIdentity,
  script: string,
  runner: GroupProcessRunner,
): Promise<string[]> {
  const out: string[] = [];
  const p = runner.start(
    {
      command: "/usr/bin/python3",
      args: ["-c", script],
      env: ENV,
      identity,
    },
    (line, stream) => out.push(stream === "stderr" ? `stderr: ${line}` : line),
  );
  const status = await p.exited;
  assertEquals(status.code, 0, out.join("\n"));
  return out;
}

// What a service can and cannot do below its Deno permissions, tried for
// real through the kernel: its ids and capability sets, reading root's
// secret, loading a module (fd -1: nothing can be loaded either way; without
// CAP_SYS_MODULE the kernel answers EPERM before it looks at the fd) and
// attaching to another process with ptrace.
const PROBE = `
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
status = dict(l.split(":\\t", 1) for l in open("/proc/self/status").read().splitlines() if ":\\t" in l)
for k in ("Uid", "Gid", "Groups", "CapEff", "CapPrm", "CapBnd", "CapAmb", "NoNewPrivs"):
    print(k, status.get(k, "").strip())
try:
    open(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("SECRET", "/nonexistent")).read()
    print("read ok")
except OSError as e:
    print("read", e.errno)
r = libc.syscall(313, -1, b"", 0)
print("finit_module", r, ctypes.get_errno())
r = libc.ptrace(16, int(os.environ["TARGET"]), 0, 0)
print("ptrace", r, ctypes.get_errno())
`;

Deno.test({
  name:
    "a child under an identity has its ids and capabilities only, and cannot read root's files, load modules or ptrace",
  ignore: Deno.uid() !== 0 || !findExecutable("setpriv") ||
    !findExecutable("python3"),
  fn: async (t) => {
    await using dir = await tempDir();
    const secret = `${dir.path}/ca.key`;
    await Deno.writeTextFile(secret, "key\n", { mode: 0o600 });
    await Deno.chmod(dir.path, 0o755);
    const runner = new GroupProcessRunner({ pdeathsig: false });
    // A root process to attach to.
    const target = new Deno.Command("/bin/sleep", { args: ["30"] }).spawn();
    try {
      const env = (extra: Record<string, string>) =>
        `import os; os.environ.update(${JSON.stringify(extra)})\n` + PROBE;
      const vars = { SECRET: secret, TARGET: String(target.pid) };
      // A kernel built without modules answers ENOSYS whoever asks (the
      // image's Debian kernel has them; its boot test tries there too).
      const asRoot = new TextDecoder().decode(
        (await new Deno.Command("/usr/bin/python3", {
          args: ["-c", env({ ...vars, TARGET: "0" })],
        }).output()).stdout,
      );
      const modules = !asRoot.includes("finit_module -1 38");
      const finit = (errno: number) =>
        `finit_module -1 ${modules ? errno : 38}`;
      await t.step("apid: no capability at all", async () => {
        const lines = await runAs(
          { uid: 51, gid: 51, capabilities: [] },
          env(vars),
          runner,
        );
        const got = Object.fromEntries(
          lines.map((l) => [l.split(" ")[0], l.slice(l.indexOf(" ") + 1)]),
        );
        assertEquals(got.Uid, "51\t51\t51\t51");
        assertEquals(got.Gid, "51\t51\t51\t51");
        assertEquals(got.Groups, "");
        for (const set of ["CapEff", "CapPrm", "CapBnd", "CapAmb"]) {
          assertEquals(BigInt(`0x${got[set]}`), 0n, set);
        }
        assertEquals(got.NoNewPrivs, "1");
        assertEquals(got.read, "13"); // EACCES
        assertEquals(`finit_module ${got.finit_module}`, finit(1)); // EPERM
        assertEquals(got.ptrace, "-1 1"); // EPERM
      });
      await t.step("networkd keeps CAP_NET_ADMIN, nothing else", async () => {
        const lines = await runAs(
          { uid: 53, gid: 53, capabilities: ["net_admin"] },
          env(vars),
          runner,
        );
        const eff = lines.find((l) => l.startsWith("CapEff "));
        assertEquals(
          BigInt(`0x${eff?.split(" ")[1]}`),
          1n << BigInt(CAP_NET_ADMIN),
        );
        assertIncludes(lines.join("\n"), finit(1));
      });
      await t.step(
        "udevd keeps CAP_SYS_MODULE: the kernel gets to the fd",
        async () => {
          const lines = await runAs(
            { uid: 54, gid: 54, capabilities: ["sys_module"] },
            env(vars),
            runner,
          );
          const eff = lines.find((l) => l.startsWith("CapEff "));
          assertEquals(
            BigInt(`0x${eff?.split(" ")[1]}`),
            1n << BigInt(CAP_SYS_MODULE),
          );
          assertIncludes(lines.join("\n"), finit(9)); // EBADF
          assertIncludes(lines.join("\n"), "read 13");
        },
      );
    } finally {
      target.kill("SIGKILL");
      await target.status;
    }
  },
});
