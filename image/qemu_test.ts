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
    assertThrows(() =>
      qemuArgs({ ...base, forwards: [{ hostPort: 0, guestPort: 1 }] }, "/s")
    );
  });
  await t.step("KVM uses the host CPU model", () => {
    const a = qemuArgs({ ...base, accel: "kvm" }, "/s");
    assertEquals(after(a, "-accel"), ["kvm"]);
    assertEquals(after(a, "-cpu"), ["host"]);
  });
});
