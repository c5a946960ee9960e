import { readProcess } from "../../../lib/procfs/mod.ts";
import {
  assert,
  assertEquals,
  tempDir,
  waitUntil,
} from "../../../lib/testing/mod.ts";
import { GroupProcessRunner, readLines } from "./process_runner.ts";

const ENV = { PATH: "/usr/bin:/bin" };

/** Whether a pid is gone (or a zombie nobody reaped yet). */
async function gone(pid: number): Promise<boolean> {
  const p = await readProcess(pid);
  return !p || p.state === "Z";
}

Deno.test("GroupProcessRunner runs children in their own group and captures output", async (t) => {
  const runner = new GroupProcessRunner();
  await t.step(
    "captures stdout and stderr lines and passes stdin",
    async () => {
      const lines: string[] = [];
      const p = runner.start({
        command: "/bin/sh",
        args: [
          "-c",
          'read s; echo "got $s"; echo err >&2; printf "tail"; exit 3',
        ],
        env: ENV,
        stdin: new TextEncoder().encode("secret\n"),
      }, (l, s) => lines.push(`${s}:${l}`));
      const st = await p.exited;
      assertEquals(st, { code: 3, signal: null });
      assertEquals(
        lines.sort(),
        ["stderr:err", "stdout:got secret", "stdout:tail"],
      );
    },
  );
  await t.step("the child is a session and group leader", async () => {
    assert(runner.grouped);
    const p = runner.start({
      command: "/bin/sleep",
      args: ["30"],
      env: ENV,
    }, () => {});
    const info = await waitUntil(async () => {
      const i = await readProcess(p.pid);
      return i?.comm === "sleep" ? i : undefined;
    });
    assertEquals(info.pgid, p.pid);
    const st = await p.stop(5000);
    assertEquals(st.signal, "SIGTERM");
  });
  await t.step(
    "stop() reaches grandchildren and escalates to SIGKILL",
    async () => {
      await using dir = await tempDir();
      const pidFile = `${dir.path}/grandchild`;
      const p = runner.start({
        command: "/bin/sh",
        // The shell ignores TERM; its grandchild records its pid.
        args: ["-c", `trap '' TERM; sleep 60 & echo $! > ${pidFile}; wait`],
        env: ENV,
      }, () => {});
      const gc = await waitUntil(async () => {
        try {
          const t = (await Deno.readTextFile(pidFile)).trim();
          return t ? Number(t) : undefined;
        } catch {
          return undefined;
        }
      });
      const started = Date.now();
      const st = await p.stop(300);
      assertEquals(st.signal, "SIGKILL");
      assert(Date.now() - started >= 250);
      await waitUntil(() => gone(gc), { what: `grandchild ${gc} gone` });
    },
  );
  await t.step("a missing program ends with a failing exit", async () => {
    const lines: string[] = [];
    const p = runner.start(
      { command: "/nonexistent/x", args: [], env: ENV },
      (l) => lines.push(l),
    );
    const st = await p.exited;
    assert(st.code !== 0);
    assert(lines.join(" ").includes("/nonexistent/x"), lines.join(" "));
  });
});

Deno.test("children of a SIGKILLed parent die with it (PR_SET_PDEATHSIG)", async () => {
  await using dir = await tempDir();
  const runnerUrl = new URL("./process_runner.ts", import.meta.url).href;
  const script = `${dir.path}/parent.ts`;
  await Deno.writeTextFile(
    script,
    `import { GroupProcessRunner } from "${runnerUrl}";
const p = new GroupProcessRunner().start(
  { command: "/bin/sleep", args: ["60"], env: { PATH: "/usr/bin:/bin" } },
  () => {},
);
console.log(p.pid);
await p.exited;
`,
  );
  const parent = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-prompt", script],
    stdout: "piped",
    stderr: "null",
    stdin: "null",
  }).spawn();
  let childPid = 0;
  await readLines(parent.stdout, 1000, (l) => {
    if (!childPid && /^\d+$/.test(l)) {
      childPid = Number(l);
      parent.kill("SIGKILL");
    }
  });
  await parent.status;
  assert(childPid > 0, "parent printed its child's pid");
  await waitUntil(() => gone(childPid), {
    what: `child ${childPid} gone after its parent was killed`,
    timeoutMs: 10000,
  });
});

Deno.test("readLines() splits lines and cuts long ones", async () => {
  const chunks = ["ab", "c\nde", "f\r\n", "x".repeat(7), "\nend"];
  const stream = ReadableStream.from(
    chunks.map((c) => new TextEncoder().encode(c)),
  );
  const lines: string[] = [];
  await readLines(stream, 5, (l) => lines.push(l));
  assertEquals(lines, ["abc", "def", "xxxxx", "xx", "end"]);
});
