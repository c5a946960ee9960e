import { assertEquals } from "../../../lib/testing/mod.ts";
import { type BlockTree, ext4Label, findByLabel } from "./partitions.ts";

function superblock(label: string): Uint8Array {
  const b = new Uint8Array(2048);
  new DataView(b.buffer).setUint16(1024 + 0x38, 0xef53, true);
  b.set(new TextEncoder().encode(label), 1024 + 0x78);
  return b;
}

function tree(
  devs: Record<string, { uevent?: string; head?: Uint8Array }>,
): BlockTree {
  return {
    devices: () => Object.keys(devs),
    uevent: (n) => devs[n]?.uevent ?? "",
    head: (n) => {
      const h = devs[n]?.head;
      if (!h) throw new Error("no medium");
      return h;
    },
  };
}

Deno.test("ext4Label() reads the volume name of an ext4 superblock", () => {
  assertEquals(ext4Label(superblock("BRONZE-STATE")), "BRONZE-STATE");
  assertEquals(ext4Label(new Uint8Array(2048)), undefined);
  assertEquals(ext4Label(new Uint8Array(100)), undefined);
});

Deno.test("findByLabel() prefers the GPT name, then the ext4 label", () => {
  const t = tree({
    loop0: { head: superblock("BRONZE-STATE") },
    vda: { uevent: "DEVTYPE=disk\n" },
    vda1: { uevent: "DEVTYPE=partition\nPARTNAME=BRONZE-STATE\n" },
    vdb: { head: superblock("BRONZE-EPHEMERAL") },
    sr0: {},
  });
  assertEquals(findByLabel(t, "BRONZE-STATE"), {
    name: "vda1",
    devPath: "/dev/vda1",
    via: "gpt",
  });
  assertEquals(findByLabel(t, "BRONZE-EPHEMERAL")?.via, "ext4");
  assertEquals(findByLabel(t, "NOPE"), undefined);
  // A loop device is never the node's partition.
  assertEquals(
    findByLabel(tree({ loop0: { head: superblock("X") } }), "X"),
    undefined,
  );
});
