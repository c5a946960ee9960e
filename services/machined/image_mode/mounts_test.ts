import { assertEquals, tempDir } from "../../../lib/testing/mod.ts";
import { holdersOf, mountPoints } from "./mounts.ts";

Deno.test("mountPoints() reads the mount points of mountinfo", () => {
  const info = [
    "22 1 0:21 / / ro,relatime - squashfs /dev/loop0 ro",
    "23 22 0:5 / /dev rw,nosuid - devtmpfs devtmpfs rw",
    "30 22 254:1 / /system/state rw,noatime - ext4 /dev/vda1 rw",
    "31 22 0:40 / /mnt/with\\040space rw - tmpfs tmpfs rw",
    "",
  ].join("\n");
  assertEquals([...mountPoints(info)], [
    "/",
    "/dev",
    "/system/state",
    "/mnt/with space",
  ]);
});

Deno.test("holdersOf() names the process holding a file open", async () => {
  await using dir = await tempDir();
  const f = await Deno.open(`${dir.path}/held`, { write: true, create: true });
  try {
    const held = holdersOf(dir.path);
    assertEquals(
      held.some((h) =>
        h.startsWith(`${Deno.pid} `) && h.endsWith(`${dir.path}/held`)
      ),
      true,
      held.join("; "),
    );
  } finally {
    f.close();
  }
  assertEquals(
    holdersOf(dir.path).filter((h) => h.startsWith(`${Deno.pid} `)),
    [],
  );
});
