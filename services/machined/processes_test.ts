import { assert, assertEquals, assertThrows } from "../../lib/testing/mod.ts";
import {
  listProcessInfo,
  parseProcessStat,
  parseStatusIdentity,
} from "./processes.ts";

Deno.test("parseProcessStat() reads pid, state, times and memory", () => {
  const stat =
    "4242 (my (odd) cmd) S 1 4242 4242 0 -1 4194560 100 0 0 0 150 50 0 0 20 0 7 0 100 123456789 2500 18446744073709551615";
  assertEquals(parseProcessStat(stat), {
    pid: 4242,
    command: "my (odd) cmd",
    state: "S",
    ppid: 1,
    cpuTime: 2,
    threads: 7,
    virtualMemory: 123456789,
    residentMemory: 2500 * 4096,
  });
});

Deno.test("listProcessInfo() lists this process with its service tag", async () => {
  const all = await listProcessInfo(new Map([[Deno.pid, "test"]]));
  const me = all.find((p) => p.pid === Deno.pid);
  assert(me, "this process is listed");
  assertEquals(me.service, "test");
  assert(me.residentMemory > 0 && me.proportionalMemory > 0);
  assert(me.executable.endsWith("deno"), me.executable);
  assert(me.threads >= 1);
});

Deno.test("parseStatusIdentity() reads the real ids, CapEff and NoNewPrivs", async (t) => {
  await t.step("a service under its own identity", () => {
    assertEquals(
      parseStatusIdentity(
        "Name:\tdeno\nUid:\t53\t53\t53\t53\nGid:\t53\t53\t53\t53\nCapEff:\t0000000000001000\nNoNewPrivs:\t1\n",
      ),
      { uid: 53, gid: 53, capabilitiesEffective: 0x1000, noNewPrivs: true },
    );
  });
  await t.step("this process", async () => {
    const own = parseStatusIdentity(
      await Deno.readTextFile("/proc/self/status"),
    );
    assertEquals(own.uid, Deno.uid());
    assertEquals(own.gid, Deno.gid());
  });
  await t.step("a status without CapEff is refused", () => {
    assertThrows(
      () => parseStatusIdentity("Uid:\t1\t1\t1\t1\nGid:\t1\t1\t1\t1\n"),
      Error,
      "Cannot parse CapEff",
    );
  });
});
