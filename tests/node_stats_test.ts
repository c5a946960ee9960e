/**
 * The node statistics on a real 2-node process-mode cluster, through apid:
 * Mounts, SystemStat, CPUInfo, DiskStats, NetworkDeviceStats and Netstat
 * answer per node in Talos's shapes, checked against this machine's /proc
 * (the nodes are processes on it); osctl mounts and netstat print them with
 * a NODE column and -o json.
 */
import { MachineServiceService } from "../lib/api/gen/machine/machine.ts";
import { NetstatRequest_Filter } from "../lib/api/gen/machine/machine.ts";
import { APID_PORT } from "../lib/constants/mod.ts";
import { assert, assertEquals } from "../lib/testing/mod.ts";
import { startTestCluster } from "./cluster_harness.ts";

/** The rows of a table as arrays of cells (columns 3+ spaces apart). */
function tableRows(text: string): string[][] {
  return text.trimEnd().split("\n").map((l) => l.split(/ {3,}/));
}

Deno.test("node statistics on a 2-node cluster", async (t) => {
  await using cluster = await startTestCluster({
    cidr: "127.19.2.0/24",
    nodes: 2,
  });
  const [cp, worker] = cluster.addresses;
  using api = await cluster.client({
    roles: ["os:reader"],
    nodes: cluster.addresses,
  });
  const empty = { metadata: undefined };
  const byNode = <T extends { metadata?: { hostname: string } | undefined }>(
    messages: T[],
  ) => new Map(messages.map((m) => [m.metadata?.hostname ?? "", m]));

  await t.step("SystemStat and CPUInfo per node, as /proc says", async () => {
    const stat = await api.unary(MachineServiceService.systemStat, empty);
    const cpus = (await Deno.readTextFile("/proc/cpuinfo")).split("\n")
      .filter((l) => l.startsWith("processor")).length;
    const btime = Number(
      /^btime (\d+)$/m.exec(await Deno.readTextFile("/proc/stat"))![1],
    );
    for (const node of [cp, worker]) {
      const m = byNode(stat.messages).get(node);
      assert(m && !m.metadata?.error, JSON.stringify(m?.metadata));
      assertEquals(m.bootTime, btime);
      assertEquals(m.cpu.length, cpus);
      assert(m.cpuTotal!.user > 0 && m.contextSwitches > 0);
    }
    const info = await api.unary(MachineServiceService.cpuInfo, empty);
    for (const node of [cp, worker]) {
      const m = byNode(info.messages).get(node)!;
      assertEquals(m.cpuInfo.map((c) => c.processor), [...Array(cpus).keys()]);
      assert(m.cpuInfo[0].modelName.length > 0);
    }
  });

  await t.step(
    "DiskStats and NetworkDeviceStats: totals of the devices",
    async () => {
      const disks = await api.unary(MachineServiceService.diskStats, empty);
      const d = byNode(disks.messages).get(worker)!;
      assertEquals(
        d.total!.readCompleted,
        d.devices.reduce((s, x) => s + x.readCompleted, 0),
      );
      const net = await api.unary(
        MachineServiceService.networkDeviceStats,
        empty,
      );
      const n = byNode(net.messages).get(cp)!;
      const lo = n.devices.find((x) => x.name === "lo");
      assert(lo && lo.rxBytes > 0, "lo has traffic: the nodes talk over it");
      assertEquals(
        n.total!.txBytes,
        n.devices.reduce((s, x) => s + x.txBytes, 0),
      );
    },
  );

  await t.step("Mounts: the root file system with its size", async () => {
    const mounts = await api.unary(MachineServiceService.mounts, empty);
    const m = byNode(mounts.messages).get(worker)!;
    const root = m.stats.find((s) => s.mountedOn === "/");
    assert(root && root.size > 0 && root.available <= root.size);
    const r = await cluster.osctl(["-n", `${cp},${worker}`, "mounts"]);
    assertEquals(r.code, 0, r.stderr);
    const rows = tableRows(r.stdout);
    assertEquals(rows[0], [
      "NODE",
      "FILESYSTEM",
      "SIZE(GB)",
      "USED(GB)",
      "AVAILABLE(GB)",
      "PERCENT USED",
      "MOUNTED ON",
    ]);
    for (const node of [cp, worker]) {
      const row = rows.find((x) => x[0] === node && x[6] === "/");
      assert(row, `${node}: ${r.stdout}`);
      assert(/^\d+\.\d\d%$/.test(row[5]), row[5]);
    }
  });

  await t.step(
    "Netstat: apid's listening socket, with its process",
    async () => {
      const ns = await api.unary(MachineServiceService.netstat, {
        filter: NetstatRequest_Filter.LISTENING,
        feature: { pid: true },
        l4proto: {
          tcp: true,
          tcp6: false,
          udp: false,
          udp6: false,
          udplite: false,
          udplite6: false,
          raw: false,
          raw6: false,
        },
        netns: undefined,
      });
      for (const node of [cp, worker]) {
        const m = byNode(ns.messages).get(node)!;
        const apid = m.connectrecord.find((r) =>
          r.localip === node && r.localport === APID_PORT
        );
        assert(apid, `${node}: no listener on ${node}:${APID_PORT}`);
        assertEquals(apid.l4proto, "tcp");
        assertEquals(apid.state, 10);
        assert(apid.process!.pid > 0, JSON.stringify(apid.process));
        assert(m.connectrecord.every((r) => r.remoteport === 0));
      }
    },
  );

  await t.step("osctl netstat -l -t -p and -o json", async () => {
    const r = await cluster.osctl(["-n", worker, "netstat", "-l", "-t", "-p"]);
    assertEquals(r.code, 0, r.stderr);
    const rows = tableRows(r.stdout);
    assertEquals(rows[0], [
      "NODE",
      "Proto",
      "Recv-Q",
      "Send-Q",
      "Local Address",
      "Foreign Address",
      "State",
      "PID/Program name",
    ]);
    const apid = rows.find((x) => x[4] === `${worker}:${APID_PORT}`);
    assert(apid, r.stdout);
    assertEquals([apid[0], apid[1], apid[5], apid[6]], [
      worker,
      "tcp",
      "0.0.0.0:*",
      "LISTEN",
    ]);
    assert(/^\d+\/\S+$/.test(apid[7]), apid[7]);
    const j = await cluster.osctl([
      "-n",
      worker,
      "-o",
      "json",
      "netstat",
      "-a",
    ]);
    assertEquals(j.code, 0, j.stderr);
    const parsed = JSON.parse(j.stdout);
    assertEquals(parsed.messages[0].metadata.hostname, worker);
    assert(
      parsed.messages[0].connectrecord.some((c: { state: string }) =>
        c.state === "ESTABLISHED"
      ),
      "apid and machined hold bus connections",
    );
  });

  await t.step(
    "Time: every node's clock against the control plane's apid",
    async () => {
      const reply = await api.unary(MachineServiceService.time, empty);
      const cpName = cluster.record.nodes[0].name;
      for (const node of [cp, worker]) {
        const m = byNode(reply.messages).get(node);
        assert(m && !m.metadata?.error, JSON.stringify(m?.metadata));
        // The worker's own apid stamped it first; the control plane's wins.
        assertEquals(m.server, cpName, node);
        assert(m.roundTripUs > 0, `${node}: ${m.roundTripUs}`);
        // One clock (the nodes are processes here): the offset is within half
        // the round trip, plus the milliseconds Date keeps.
        const offset = m.localtime!.getTime() - m.remotetime!.getTime();
        assert(
          Math.abs(offset) <= m.roundTripUs / 2000 + 2,
          `${node}: offset ${offset} ms, round trip ${m.roundTripUs} us`,
        );
      }
      const r = await cluster.osctl(["-n", `${cp},${worker}`, "time"]);
      assertEquals(r.code, 0, r.stderr);
      const rows = tableRows(r.stdout);
      assertEquals(rows[0], [
        "NODE",
        "SERVER",
        "NODE-TIME",
        "SERVER-TIME",
        "OFFSET",
      ]);
      assertEquals(rows.slice(1).map((x) => x[0]).sort(), [cp, worker].sort());
      for (const row of rows.slice(1)) {
        assertEquals(row[1], cpName);
        assert(/^[+-]\d+\.\dms ±\d+\.\dms$/.test(row[4]), row[4]);
      }
      // Talos's path of it, as talosctl calls it: one node by `node`.
      using talos = await cluster.client({
        roles: ["os:reader"],
        nodes: [worker],
      });
      const viaTalos = await talos.unary(
        { ...MachineServiceService.time, path: "/time.TimeService/Time" },
        empty,
        { singleNode: true },
      );
      assertEquals(viaTalos.messages.length, 1);
      assertEquals(viaTalos.messages[0].server, cpName);
      assert(viaTalos.messages[0].localtime && viaTalos.messages[0].remotetime);
      const y = await cluster.osctl(["-n", worker, "-o", "yaml", "time"]);
      assertEquals(y.code, 0, y.stderr);
      assert(y.stdout.includes(`server: ${cpName}\n`), y.stdout);
    },
  );
});
