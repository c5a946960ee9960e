import { assert, assertEquals, assertThrows } from "../testing/mod.ts";
import {
  parseCpuInfo,
  parseDiskStats,
  parseHexAddress,
  parseMounts,
  parseNetDev,
  parseSocketTable,
  parseSystemStat,
  readCpuInfo,
  readSocketTable,
  readSystemStat,
  socketOwners,
} from "./mod.ts";

Deno.test("parseSystemStat() reads CPU times in seconds and the counters", () => {
  const s = parseSystemStat(
    [
      "cpu  100 2 30 4000 5 6 7 8 9 10",
      "cpu0 50 1 15 2000 2 3 3 4 4 5",
      "cpu1 50 1 15 2000 3 3 4 4 5 5",
      "intr 1234 10 0 5",
      "ctxt 999",
      "btime 1700000000",
      "processes 321",
      "procs_running 2",
      "procs_blocked 1",
      "softirq 50 1 2 3 4 5 6 7 8 9 10",
    ].join("\n"),
  );
  assertEquals(s.cpuTotal.user, 1);
  assertEquals(s.cpuTotal.idle, 40);
  assertEquals(s.cpuTotal.guestNice, 0.1);
  assertEquals(s.cpu.length, 2);
  assertEquals(s.cpu[1].iowait, 0.03);
  assertEquals([s.irqTotal, s.irq], [1234, [10, 0, 5]]);
  assertEquals(
    [s.contextSwitches, s.bootTime, s.processCreated],
    [999, 1700000000, 321],
  );
  assertEquals([s.processRunning, s.processBlocked], [2, 1]);
  assertEquals(s.softIrqTotal, 50);
  assertEquals(s.softIrq.rcu, 10);
  assertEquals(s.softIrq.netRx, 4);
  assertThrows(() => parseSystemStat("ctxt 1\n"), Error, 'no "cpu" line');
  assertThrows(() => parseSystemStat("cpu x 1\n"), Error, 'cpu has "x"');
});

Deno.test("readSystemStat() and readCpuInfo() read this machine", async () => {
  const s = await readSystemStat();
  assert(s.cpu.length >= 1);
  assert(s.bootTime > 1e9 && s.bootTime * 1000 < Date.now());
  const cpus = await readCpuInfo();
  assertEquals(cpus.map((c) => c.processor), cpus.map((_, i) => i));
  assert(cpus.length >= s.cpu.filter((c) => c.user + c.idle > 0).length);
});

Deno.test("parseCpuInfo() gives a record per processor", () => {
  const cpus = parseCpuInfo(
    [
      "processor\t: 0",
      "vendor_id\t: GenuineIntel",
      "cpu family\t: 6",
      "model name\t: Test CPU @ 2.00GHz",
      "cpu MHz\t\t: 1999.999",
      "cache size\t: 16384 KB",
      "siblings\t: 2",
      "cpu cores\t: 2",
      "flags\t\t: fpu vme de",
      "bugs\t\t:",
      "bogomips\t: 3999.99",
      "clflush size\t: 64",
      "address sizes\t: 46 bits physical, 48 bits virtual",
      "",
      "processor\t: 1",
      "vendor_id\t: GenuineIntel",
      "",
    ].join("\n"),
  );
  assertEquals(cpus.length, 2);
  assertEquals(cpus[0].modelName, "Test CPU @ 2.00GHz");
  assertEquals(cpus[0].cpuMhz, 1999.999);
  assertEquals(cpus[0].flags, ["fpu", "vme", "de"]);
  assertEquals(cpus[0].bugs, []);
  assertEquals([cpus[0].clFlushSize, cpus[0].siblings], [64, 2]);
  assertEquals(cpus[1].processor, 1);
  assertThrows(() => parseCpuInfo("hello"), Error, 'no "processor" line');
});

Deno.test("parseDiskStats() and parseNetDev() sum their devices", () => {
  const d = parseDiskStats(
    [
      "   7       0 loop0 10 0 20 1 0 0 0 0 0 4 1 0 0 0 0 0 0",
      " 254       0 vda 100 5 2000 30 50 6 800 40 0 60 70 1 2 3 4 9 9",
      " 254       1 vda1 1 2 3 4 5 6 7 8 9 10 11",
    ].join("\n"),
  );
  assertEquals(d.devices.map((x) => x.name), ["loop0", "vda"]);
  assertEquals(d.total.readCompleted, 110);
  assertEquals(d.devices[1].discardTimeMs, 4);
  assertEquals(d.total.ioTimeMs, 64);
  const n = parseNetDev(
    [
      "Inter-|   Receive                            |  Transmit",
      " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed",
      "    lo: 1000 10 0 0 0 0 0 0 1000 10 0 0 0 0 0 0",
      "  eth0: 5000 50 1 2 0 0 0 3 4000 40 0 1 0 0 0 0",
    ].join("\n"),
  );
  assertEquals(n.devices.map((x) => x.name), ["eth0", "lo"]);
  assertEquals([n.total.rxBytes, n.total.txPackets], [6000, 50]);
  assertEquals(n.devices[0].rxMulticast, 3);
  assertThrows(
    () => parseNetDev("eth0: 1 2 3"),
    Error,
    "has 3 fields, want 16",
  );
});

Deno.test("parseHexAddress() reads /proc/net's IPv4 and IPv6", () => {
  assertEquals(parseHexAddress("0100007F"), "127.0.0.1");
  assertEquals(parseHexAddress("00000000"), "0.0.0.0");
  assertEquals(parseHexAddress("00000000000000000000000001000000"), "::1");
  assertEquals(parseHexAddress("00000000000000000000000000000000"), "::");
  assertEquals(
    parseHexAddress("0000000000000000FFFF00000100007F"),
    "::ffff:127.0.0.1",
  );
  assertEquals(
    parseHexAddress("B80D0120000000000000000001000000"),
    "2001:db8::1",
  );
  assertThrows(() => parseHexAddress("12345"), Error, '"12345"');
});

Deno.test("parseSocketTable() reads a tcp table", () => {
  const t = parseSocketTable(
    [
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
      "   0: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000   106        0 26011 1 0000000000000000 100 0 0 10 0",
      "   1: 0100007F:C350 0200007F:D431 01 00000010:00000020 02:000000FA 00000003     0        0 4242 2 0000000000000000 20 4 30 10 -1",
    ].join("\n"),
    "tcp",
  );
  assertEquals(t.length, 2);
  assertEquals(
    [t[0].localIp, t[0].localPort, t[0].state, t[0].uid, t[0].inode],
    ["127.0.0.1", 3306, 10, 106, 26011],
  );
  assertEquals(
    [t[1].remoteIp, t[1].remotePort, t[1].txQueue, t[1].rxQueue],
    ["127.0.0.2", 54321, 16, 32],
  );
  assertEquals([t[1].timer, t[1].timerWhen, t[1].retransmits], [2, 250, 3]);
});

Deno.test("readSocketTable() finds a socket this process listens on", async () => {
  using l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  const tcp = await readSocketTable("tcp");
  const mine = tcp.find((s) => s.localPort === port && s.state === 10);
  assert(mine, `no LISTEN socket on ${port}`);
  assertEquals(mine.localIp, "127.0.0.1");
  const owners = await socketOwners();
  assertEquals(owners.get(mine.inode)?.pid, Deno.pid);
});

Deno.test("parseMounts() unescapes octal names", () => {
  assertEquals(
    parseMounts(
      "proc /proc proc rw,nosuid 0 0\n/dev/vda1 /mnt/with\\040space ext4 rw 0 0\n",
    ),
    [
      {
        source: "proc",
        mountPoint: "/proc",
        fsType: "proc",
        options: "rw,nosuid",
      },
      {
        source: "/dev/vda1",
        mountPoint: "/mnt/with space",
        fsType: "ext4",
        options: "rw",
      },
    ],
  );
});
