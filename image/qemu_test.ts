import { qemuArgs } from "./qemu.ts";
import {
  assert,
  assertEquals,
  assertIncludes,
  assertThrows,
} from "../lib/testing/mod.ts";

const base = { kernel: "/k", initramfs: "/i", cmdline: "console=ttyS0" };

function after(args: string[], flag: string): string[] {
  return args.flatMap((a, i) => a === flag ? [args[i + 1]] : []);
}

Deno.test("qemuArgs() builds a TCG VM with loopback-only forwards", async (t) => {
  await t.step(
    "defaults: TCG, 1 GiB, 2 CPUs, serial on stdio, no reboot",
    () => {
      const a = qemuArgs(base, "/tmp/q.sock");
      assertEquals(after(a, "-accel"), ["tcg"]);
      assertEquals(after(a, "-m"), ["1024"]);
      assertEquals(after(a, "-smp"), ["2"]);
      assertEquals(after(a, "-serial"), ["stdio"]);
      assertEquals(after(a, "-append"), ["console=ttyS0"]);
      assertEquals(after(a, "-initrd"), ["/i"]);
      assertEquals(after(a, "-qmp"), ["unix:/tmp/q.sock,server=on,wait=off"]);
      assert(a.includes("-no-reboot"));
      assertEquals(after(a, "-netdev"), []);
    },
  );
  await t.step("disk as virtio-blk, snapshot by default", () => {
    const a = qemuArgs({ ...base, disk: "/d.raw" }, "/s");
    assertEquals(after(a, "-drive"), [
      "file=/d.raw,if=none,id=disk0,format=raw,snapshot=on",
    ]);
    assertIncludes(after(a, "-device").join(" "), "virtio-blk-pci,drive=disk0");
    const b = qemuArgs({ ...base, disk: "/d.raw", diskSnapshot: false }, "/s");
    assertEquals(after(b, "-drive"), [
      "file=/d.raw,if=none,id=disk0,format=raw",
    ]);
  });
  await t.step("user networking is restricted, forwards bind 127.0.0.1", () => {
    const a = qemuArgs({
      ...base,
      forwards: [{ hostPort: 50123, guestPort: 50000 }],
    }, "/s");
    assertEquals(after(a, "-netdev"), [
      "user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:50123-:50000",
    ]);
    assertIncludes(after(a, "-device").join(" "), "virtio-net-pci,netdev=net0");
    assertThrows(
      () =>
        qemuArgs({ ...base, forwards: [{ hostPort: 0, guestPort: 1 }] }, "/s"),
      Error,
      "Invalid host port 0",
    );
  });
  await t.step("KVM uses the host CPU model", () => {
    const a = qemuArgs({ ...base, accel: "kvm" }, "/s");
    assertEquals(after(a, "-accel"), ["kvm"]);
    assertEquals(after(a, "-cpu"), ["host"]);
  });
});

Deno.test("qemuArgs() for clusters: fw_cfg, VM network, user network, console file", async (t) => {
  await t.step("fw_cfg entries under opt/", () => {
    const a = qemuArgs({
      ...base,
      fwCfg: [{ name: "opt/bronze/config", file: "/c/config.yaml" }],
    }, "/s");
    assertEquals(after(a, "-fw_cfg"), [
      "name=opt/bronze/config,file=/c/config.yaml",
    ]);
    assertThrows(
      () => qemuArgs({ ...base, fwCfg: [{ name: "etc/x", file: "/f" }] }, "/s"),
      Error,
      'Invalid fw_cfg entry {"name":"etc/x"',
    );
    assertThrows(
      () =>
        qemuArgs({ ...base, fwCfg: [{ name: "opt/x", file: "/a,b" }] }, "/s"),
      Error,
      'Invalid fw_cfg entry {"name":"opt/x","file":"/a,b"}',
    );
  });
  await t.step("a second NIC on a loopback multicast segment", () => {
    const a = qemuArgs({
      ...base,
      forwards: [{
        hostPort: 50123,
        guestPort: 50000,
        guestAddress: "10.5.0.2",
      }],
      userNetwork: { net: "10.5.0.0/24", host: "10.5.0.1" },
      vmNetwork: { mcast: "230.5.1.2:40000", mac: "52:54:00:01:02:03" },
    }, "/s");
    assertEquals(after(a, "-netdev"), [
      "user,id=net0,restrict=on,net=10.5.0.0/24,host=10.5.0.1,hostfwd=tcp:127.0.0.1:50123-10.5.0.2:50000",
      "socket,id=net1,mcast=230.5.1.2:40000,localaddr=127.0.0.1",
    ]);
    assertIncludes(
      after(a, "-device").join(" "),
      "virtio-net-pci,netdev=net1,mac=52:54:00:01:02:03",
    );
    assertThrows(
      () => qemuArgs({ ...base, vmNetwork: { mcast: "230.5.1.2" } }, "/s"),
      Error,
      'Invalid multicast address "230.5.1.2"',
    );
  });
  await t.step("the console to a file, guest reboots kept", () => {
    const a = qemuArgs(
      { ...base, serialFile: "/n/console.log", noReboot: false },
      "/s",
    );
    assertEquals(after(a, "-serial"), ["file:/n/console.log"]);
    assert(!a.includes("-no-reboot"));
  });
});
