import {
  assert,
  assertEquals,
  tempDir,
  writeTree,
} from "../../../lib/testing/mod.ts";
import {
  OrphanReaper,
  procZombieChildren,
  type ReaperSystem,
} from "./reaper.ts";

Deno.test("OrphanReaper reaps zombies it does not own, on the second sight", () => {
  let zombies = [10, 11, 12];
  const reaped: number[] = [];
  const sys: ReaperSystem = {
    zombieChildren: () => zombies,
    reap: (pid) => {
      reaped.push(pid);
      zombies = zombies.filter((z) => z !== pid);
      return 0;
    },
  };
  const reaper = new OrphanReaper(sys, { owns: (pid) => pid === 11 });
  assertEquals(reaper.scan(), [], "first sight: Deno may still collect it");
  zombies.push(13);
  assertEquals(reaper.scan(), [10, 12]);
  assertEquals(reaper.scan(), [13]);
  assertEquals(reaped, [10, 12, 13]);
  assertEquals(zombies, [11], "an owned child is never reaped here");
  assertEquals(reaper.reaped, 3);
});

Deno.test("OrphanReaper reaps a real orphan as a child subreaper", async () => {
  await using dir = await tempDir();
  const reaperUrl = new URL("./reaper.ts", import.meta.url).href;
  const ffiUrl = new URL("../../../lib/ffi/mod.ts", import.meta.url).href;
  // A subreaper gets the orphans of its descendants, as PID 1 does.
  await Deno.writeTextFile(
    `${dir.path}/subreaper.ts`,
    `import { OrphanReaper, procZombieChildren } from "${reaperUrl}";
import { Sys } from "${ffiUrl}";
const libc = Deno.dlopen("libc.so.6", {
  prctl: { parameters: ["i32", "u64", "u64", "u64", "u64"], result: "i32" },
});
if (libc.symbols.prctl(36, 1n, 0n, 0n, 0n) !== 0) throw new Error("prctl");
using sys = Sys.open();
const out = await new Deno.Command("sh", {
  args: ["-c", "sleep 0.3 & echo $!"],
  stdout: "piped",
}).output();
const orphan = Number(new TextDecoder().decode(out.stdout).trim());
const reaper = new OrphanReaper({
  zombieChildren: () => procZombieChildren(Deno.pid),
  reap: (pid) => sys.reapNow(pid),
}, { owns: () => false });
const ac = new AbortController();
const run = reaper.run(ac.signal, 200);
for (let i = 0; i < 100 && reaper.reaped === 0; i++) {
  await new Promise((r) => setTimeout(r, 100));
}
ac.abort();
await run;
let gone = false;
try { Deno.statSync("/proc/" + orphan); } catch { gone = true; }
console.log(JSON.stringify({ orphan, reaped: reaper.reaped, gone }));
libc.close();
`,
  );
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-config", `${dir.path}/subreaper.ts`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  assert(out.success, new TextDecoder().decode(out.stderr));
  const r = JSON.parse(text);
  assert(r.orphan > 0);
  assertEquals([r.reaped, r.gone], [1, true], text);
});

Deno.test("procZombieChildren() finds zombies through the children files, or a full scan", async (t) => {
  await using dir = await tempDir();
  const stat = (pid: number, state: string, ppid: number) =>
    `${pid} (x y) ${state} ${ppid} 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0\n`;
  await writeTree(dir.path, {
    "1/task/1/children": "7 8 ",
    "1/task/5/children": "9",
    "7/stat": stat(7, "Z", 1),
    "8/stat": stat(8, "S", 1),
    "9/stat": stat(9, "Z", 1),
    "12/stat": stat(12, "Z", 1), // not listed: found only by a full scan
  });
  const sorted = (xs: number[]) => xs.sort((a, b) => a - b);
  await t.step("children of every thread of the parent", () => {
    assertEquals(sorted(procZombieChildren(1, dir.path)), [7, 9]);
  });
  await t.step("no children files: every process is looked at", async () => {
    await Deno.remove(`${dir.path}/1/task/1/children`);
    await Deno.remove(`${dir.path}/1/task/5/children`);
    assertEquals(sorted(procZombieChildren(1, dir.path)), [7, 9, 12]);
  });
});
