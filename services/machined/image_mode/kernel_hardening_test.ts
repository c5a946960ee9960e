import {
  assertEquals,
  assertThrows,
  tempDir,
} from "../../../lib/testing/mod.ts";
import {
  applyKernelHardening,
  KERNEL_SETTINGS,
  sysctlPath,
} from "./kernel_hardening.ts";

Deno.test("sysctlPath() maps dotted names and refuses anything else", () => {
  assertEquals(
    sysctlPath("kernel.yama.ptrace_scope"),
    "/proc/sys/kernel/yama/ptrace_scope",
  );
  for (const bad of ["kernel", "../etc/passwd", "kernel..x", "a.b/c"]) {
    assertThrows(() => sysctlPath(bad), Error, "Invalid sysctl name");
  }
});

Deno.test("applyKernelHardening() writes, reads back and reports what did not hold", async (t) => {
  await using dir = await tempDir();
  for (const s of KERNEL_SETTINGS) {
    const path = sysctlPath(s.name, dir.path);
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(path, "0\n");
  }
  await t.step("every setting applied", async () => {
    const r = await applyKernelHardening(KERNEL_SETTINGS, dir.path);
    assertEquals(r.problems, []);
    assertEquals(
      r.applied,
      KERNEL_SETTINGS.map((s) => `${s.name}=${s.value}`),
    );
    assertEquals(
      await Deno.readTextFile(`${dir.path}/kernel/kptr_restrict`),
      "1\n",
    );
  });
  await t.step(
    "a missing sysctl is a problem named, the rest apply",
    async () => {
      const r = await applyKernelHardening([
        { name: "kernel.no_such_setting", value: "1" },
        { name: "kernel.dmesg_restrict", value: "1" },
      ], dir.path);
      assertEquals(r.applied, ["kernel.dmesg_restrict=1"]);
      assertEquals(r.problems.length, 1);
      assertEquals(r.problems[0].startsWith("kernel.no_such_setting: "), true);
    },
  );
});
