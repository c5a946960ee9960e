import { crc32, gptBytes, gptLayout, guidBytes, seededGuid } from "./gpt.ts";
import {
  assertEquals,
  assertIncludes,
  assertRejects,
  tempDir,
} from "../../lib/testing/mod.ts";

const MiB = 1024 * 1024;

Deno.test("crc32() and guidBytes() match the reference encodings", () => {
  assertEquals(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
  // Linux filesystem type GUID as it appears on disk.
  assertEquals(
    [...guidBytes("0FC63DAF-8483-4772-8E79-3D69D8477DE4")]
      .map((b) => b.toString(16).padStart(2, "0")).join(""),
    "af3dc60f838472478e793d69d8477de4",
  );
});

Deno.test("gptLayout() places aligned partitions reproducibly", async (t) => {
  await t.step(
    "1 MiB alignment, rest ends before the backup table",
    async () => {
      const l = await gptLayout(64 * MiB, [
        { label: "BRONZE-STATE", size: 10 * MiB + 1 },
        { label: "BRONZE-EPHEMERAL", size: "rest" },
      ]);
      assertEquals(l.partitions.map((p) => [p.offset / MiB, p.size / MiB]), [
        [1, 11],
        [12, 51],
      ]);
      assertEquals(
        l,
        await gptLayout(64 * MiB, [
          { label: "BRONZE-STATE", size: 10 * MiB + 1 },
          { label: "BRONZE-EPHEMERAL", size: "rest" },
        ]),
      );
      assertEquals(l.diskGuid, await seededGuid("bronze/disk"));
    },
  );
  await t.step("refuses what does not fit, naming it", async () => {
    const err = await assertRejects(() =>
      gptLayout(8 * MiB, [{ label: "BIG", size: 9 * MiB }])
    );
    assertIncludes(String(err), '"BIG"');
    assertIncludes(
      String(await assertRejects(() => gptLayout(5 * MiB + 1, []))),
      "multiple of 1 MiB",
    );
  });
});

Deno.test("gptBytes() writes a table the kernel's tools read", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/disk.raw`;
  const layout = await gptLayout(32 * MiB, [
    { label: "BRONZE-STATE", size: 8 * MiB },
    { label: "BRONZE-EPHEMERAL", size: "rest" },
  ]);
  const { head, tail } = gptBytes(layout);
  {
    using f = await Deno.open(path, { write: true, create: true });
    await f.truncate(layout.diskSize);
    await f.write(head);
    await f.seek(layout.diskSize - tail.length, Deno.SeekMode.Start);
    await f.write(tail);
  }
  const out = await new Deno.Command("partx", {
    args: ["--show", "-o", "NR,START,END,NAME,TYPE,UUID", "-g", path],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  const rows = new TextDecoder().decode(out.stdout).trim().split("\n")
    .map((l) => l.trim().split(/\s+/));
  const p = layout.partitions;
  assertEquals(rows, [
    [
      "1",
      "2048",
      "18431",
      "BRONZE-STATE",
      "0fc63daf-8483-4772-8e79-3d69d8477de4",
      p[0].guid.toLowerCase(),
    ],
    [
      "2",
      "18432",
      String(p[1].lastLba),
      "BRONZE-EPHEMERAL",
      "0fc63daf-8483-4772-8e79-3d69d8477de4",
      p[1].guid.toLowerCase(),
    ],
  ]);
  assertEquals(p[1].lastLba, 63487);
});
