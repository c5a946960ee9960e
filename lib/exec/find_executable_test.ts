import { assertEquals, tempDir } from "../testing/mod.ts";
import { findExecutable } from "./mod.ts";

Deno.test("findExecutable() finds programs on PATH and in sbin, not plain files", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/plain`, "");
  await Deno.writeTextFile(`${dir.path}/tool`, "", { mode: 0o755 });
  assertEquals(findExecutable(`${dir.path}/tool`), `${dir.path}/tool`);
  assertEquals(findExecutable(`${dir.path}/plain`), undefined);
  assertEquals(findExecutable("no-such-program-bronze"), undefined);
  // nats-server lives in /usr/sbin, which is searched even when not on PATH.
  assertEquals(findExecutable("nats-server")?.endsWith("/nats-server"), true);
});
