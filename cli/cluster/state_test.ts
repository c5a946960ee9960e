import { assertEquals, assertRejects, tempDir } from "../../lib/testing/mod.ts";
import {
  assertNotRunning,
  readClusterRecord,
  writeClusterRecord,
} from "./state.ts";

Deno.test("assertNotRunning() refuses a cluster whose node is alive", async (t) => {
  await using dir = await tempDir();
  const node = (pid: number) => ({
    name: "c-controlplane-1",
    address: "127.5.0.2",
    type: "controlplane" as const,
    pid,
    stateDir: `${dir.path}/s`,
  });
  const record = (pid: number) => ({
    name: "c",
    cidr: "127.5.0.0/24",
    provisioner: "process" as const,
    nodes: [node(pid)],
    created: new Date(0).toISOString(),
  });
  await t.step("no record: fine", async () => {
    await assertNotRunning("c", dir.path);
  });
  await t.step("a live node: refused with the way out", async () => {
    // A stand-in for machined: a real process naming the node's state folder.
    const live = new Deno.Command("/bin/sh", {
      args: ["-c", "sleep 30; true", "machined", "--state", `${dir.path}/s`],
      stdin: "null",
    }).spawn();
    try {
      await writeClusterRecord(record(live.pid), dir.path);
      assertEquals(
        (await readClusterRecord("c", dir.path))?.nodes[0].pid,
        live.pid,
      );
      const err = await assertRejects(() =>
        assertNotRunning("c", dir.path)
      ) as Error;
      assertEquals(
        err.message,
        'Cannot create cluster "c": it is running (destroy it first: osctl cluster destroy --name c)',
      );
    } finally {
      live.kill("SIGKILL");
      await live.status;
    }
  });
  await t.step("a pid reused by another program: fine", async () => {
    await writeClusterRecord(record(Deno.pid), dir.path);
    await assertNotRunning("c", dir.path);
  });
  await t.step("only dead pids: fine", async () => {
    const gone = new Deno.Command("true").spawn();
    const pid = gone.pid;
    await gone.status;
    await writeClusterRecord(record(pid), dir.path);
    await assertNotRunning("c", dir.path);
  });
});
