import { nodeProcesses, startTestNode } from "./test_harness.ts";
const t0 = Date.now();
await using node = await startTestNode({
  address: "127.5.100.250",
  waitUp: false,
});
try {
  const list = await node.waitAllUp(60000);
  console.log("up after", Date.now() - t0, "ms");
  for (const s of list) {
    console.log(s.id, s.state, s.pid, s.health?.healthy, s.dependsOn.join(","));
  }
  console.log(
    (await nodeProcesses(node)).map((p) =>
      p.pid + " " + p.argv.slice(0, 3).join(" ")
    ).join("\n"),
  );
} catch (e) {
  console.log(e);
  console.log(node.stderr.slice(-30).join("\n"));
}
