import { ProcessInfo } from "../../lib/api/gen/machine/machine.ts";
import { assertEquals } from "../../lib/testing/mod.ts";
import { humanBytes } from "../client/units.ts";
import { memoryRow } from "./memory.ts";
import { processCommand, sortProcesses } from "./processes.ts";

Deno.test("humanBytes() prints SI sizes as talosctl does", () => {
  assertEquals(humanBytes(0), "0 B");
  assertEquals(humanBytes(9), "9 B");
  assertEquals(humanBytes(999), "999 B");
  assertEquals(humanBytes(1234), "1.2 kB");
  assertEquals(humanBytes(54_000_000), "54 MB");
  assertEquals(humanBytes(275_000_000_000), "275 GB");
});

Deno.test("memoryRow() turns kB into MiB; used leaves out cache and buffers", () => {
  assertEquals(
    memoryRow("n", {
      memtotal: 8 * 1024 * 1024,
      memfree: 2 * 1024 * 1024,
      memavailable: 5 * 1024 * 1024,
      buffers: 1024 * 1024,
      cached: 2 * 1024 * 1024,
      shmem: 512,
    }),
    ["n", "8192", "3072", "2048", "0", "1024", "2048", "5120"],
  );
});

Deno.test("sortProcesses() puts the largest first, by rss or cpu", () => {
  const p = (pid: number, rss: number, cpu: number) =>
    ProcessInfo.fromPartial({ pid, residentMemory: rss, cpuTime: cpu });
  const procs = [p(1, 10, 3), p(2, 30, 1), p(3, 20, 2), p(4, 30, 0)];
  assertEquals(sortProcesses([...procs], "rss").map((x) => x.pid), [
    2,
    4,
    3,
    1,
  ]);
  assertEquals(sortProcesses([...procs], "memory").map((x) => x.pid), [
    2,
    4,
    3,
    1,
  ]);
  assertEquals(sortProcesses([...procs], "cpu").map((x) => x.pid), [
    1,
    3,
    2,
    4,
  ]);
});

Deno.test("processCommand() shows the executable's path and no control bytes", () => {
  assertEquals(
    processCommand(ProcessInfo.fromPartial({
      command: "deno",
      executable: "/usr/bin/deno",
      args: "deno run main.ts",
    })),
    "/usr/bin/deno run main.ts",
  );
  assertEquals(
    processCommand(ProcessInfo.fromPartial({ command: "kworker/0:1" })),
    "kworker/0:1",
  );
  assertEquals(
    processCommand(ProcessInfo.fromPartial({
      command: "x",
      executable: "/bin/x",
      args: "other\targ",
    })),
    "other arg",
  );
});
