import { checkDenort, compileArgs } from "./compile.ts";
import {
  assert,
  assertEquals,
  assertIncludes,
  assertRejects,
  tempDir,
} from "../lib/testing/mod.ts";

Deno.test("compileArgs() bakes each daemon's image-mode permissions in", () => {
  const apid = compileArgs("apid", "/out/apid");
  assertEquals(apid.slice(0, 3), ["compile", "--no-check", "--no-prompt"]);
  assertEquals(apid.slice(-3), [
    "--output",
    "/out/apid",
    "services/apid/main.ts",
  ]);
  assert(
    apid.some((a) => a.startsWith("--allow-net=127.0.0.1:4222")),
    apid.join(" "),
  );
  assert(!apid.includes("--allow-all") && !apid.includes("--allow-run"));
  assert(compileArgs("udevd-lite", "/o/u").includes("--allow-ffi"));
  assert(compileArgs("machined", "/o/m").includes("--allow-all"));
});

Deno.test("checkDenort() refuses what cannot make working programs", async (t) => {
  await using dir = await tempDir();
  const msg = async (f: () => Promise<unknown>) =>
    String(await assertRejects(f));
  await t.step("unset", async () => {
    assertIncludes(
      await msg(() => checkDenort(undefined, Deno.execPath())),
      "DENORT_BIN is not set",
    );
  });
  await t.step("missing", async () => {
    assertIncludes(
      await msg(() => checkDenort(`${dir.path}/nope`, Deno.execPath())),
      "does not exist",
    );
  });
  await t.step("not executable", async () => {
    await Deno.writeTextFile(`${dir.path}/denort`, "x");
    assertIncludes(
      await msg(() => checkDenort(`${dir.path}/denort`, Deno.execPath())),
      "not an executable",
    );
  });
  await t.step("the full deno binary", async () => {
    assertIncludes(
      await msg(() => checkDenort(Deno.execPath(), Deno.execPath())),
      "not denort",
    );
  });
  await t.step("something else executable passes", async () => {
    await Deno.chmod(`${dir.path}/denort`, 0o755);
    assertEquals(
      await checkDenort(`${dir.path}/denort`, Deno.execPath()),
      `${dir.path}/denort`,
    );
  });
});
