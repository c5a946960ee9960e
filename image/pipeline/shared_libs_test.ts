import { resolveRuntimeLibs } from "./shared_libs.ts";
import {
  assertEquals,
  assertIncludes,
  assertThrows,
  natsServerPath,
} from "../../lib/testing/mod.ts";

Deno.test("resolveRuntimeLibs() finds Deno's and nats-server's glibc libraries", async (t) => {
  await t.step("Deno needs six libraries and the loader", () => {
    const r = resolveRuntimeLibs([Deno.execPath()]);
    assertEquals(r.interpreter, "/lib64/ld-linux-x86-64.so.2");
    assertEquals(r.libs.map((l) => l.name), [
      "ld-linux-x86-64.so.2",
      "libc.so.6",
      "libdl.so.2",
      "libgcc_s.so.1",
      "libm.so.6",
      "libpthread.so.0",
      "librt.so.1",
    ]);
  });
  await t.step("nats-server needs nothing Deno does not", () => {
    const both = resolveRuntimeLibs([Deno.execPath(), natsServerPath()]);
    assertEquals(both.libs.length, 7);
  });
  await t.step("a missing library is named with its program", () => {
    const err = assertThrows(() =>
      resolveRuntimeLibs([Deno.execPath()], { dirs: ["/nonexistent"] })
    ) as Error;
    assertIncludes(err.message, "libdl.so.2");
    assertIncludes(err.message, Deno.execPath());
  });
});
