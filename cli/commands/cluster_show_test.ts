import { join } from "node:path";
import { assert, assertEquals, tempDir } from "../../lib/testing/mod.ts";
import { writeClusterRecord } from "../cluster/state.ts";
import { clusterShowCommand } from "./cluster.ts";

Deno.test("osctl cluster show tells a dead or reused machined pid from a live one", async () => {
  await using dir = await tempDir();
  const stateOf = (n: number) => join(dir.path, "c", `node-${n}`);
  // A stand-in for machined: a real process with that node's command line.
  const live = new Deno.Command("/bin/sh", {
    args: ["-c", "sleep 30; true", "machined", "--state", stateOf(1)],
    stdin: "null",
  }).spawn();
  const gone = new Deno.Command("true").spawn();
  await gone.status;
  const node = (n: number, pid: number) => ({
    name: `c-${n}`,
    address: `127.12.0.${n + 1}`,
    type: n === 1 ? "controlplane" as const : "worker" as const,
    pid,
    stateDir: stateOf(n),
  });
  const previous = Deno.env.get("BRONZE_CLUSTERS_DIR");
  Deno.env.set("BRONZE_CLUSTERS_DIR", dir.path);
  try {
    await writeClusterRecord({
      name: "c",
      cidr: "127.12.0.0/24",
      provisioner: "process",
      // node 3's pid is alive but is this test, not its machined
      nodes: [node(1, live.pid), node(2, gone.pid), node(3, Deno.pid)],
      created: new Date(0).toISOString(),
    });
    const out: string[] = [];
    const code = await clusterShowCommand.run(["--name", "c"], {
      globals: {
        nodes: [],
        endpoints: [],
        output: "table",
        osconfig: join(dir.path, "no-osconfig"),
      },
      io: { stdout: (s) => void out.push(s), stderr: () => {} },
      signal: AbortSignal.timeout(30_000),
    });
    assertEquals(code, 1);
    const rows = out.join("").split("\n").filter((l) => l.startsWith("c-"))
      .map((l) => l.split(/\s{2,}/));
    assertEquals(rows.map((r) => [r[0], r[3], r[4]]), [
      ["c-1", `${live.pid}`, "no"],
      ["c-2", `${gone.pid} (dead)`, "no (machined not running)"],
      ["c-3", `${Deno.pid} (dead)`, "no (machined not running)"],
    ]);
    assert(out.join("").includes("MACHINED PID"));
  } finally {
    if (previous === undefined) Deno.env.delete("BRONZE_CLUSTERS_DIR");
    else Deno.env.set("BRONZE_CLUSTERS_DIR", previous);
    live.kill("SIGKILL");
    await live.status;
  }
});
