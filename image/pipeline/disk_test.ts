import { EPHEMERAL_LABEL, makeDisk, STATE_LABEL } from "./disk.ts";
import {
  assertEquals,
  assertIncludes,
  tempDir,
} from "../../lib/testing/mod.ts";

Deno.test("makeDisk() writes a GPT with two labelled ext4 partitions", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/disk.raw`;
  const layout = await makeDisk(path, {
    size: 64 * 1024 * 1024,
    stateSize: 16 * 1024 * 1024,
  });
  assertEquals(layout.partitions.map((p) => p.label), [
    STATE_LABEL,
    EPHEMERAL_LABEL,
  ]);
  const st = await Deno.stat(path);
  assertEquals(st.size, 64 * 1024 * 1024);
  for (const p of layout.partitions) {
    const out = await new Deno.Command("blkid", {
      args: [
        "-p",
        "-O",
        String(p.offset),
        "-S",
        String(p.size),
        "-o",
        "export",
        path,
      ],
      stdout: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assertIncludes(text, `LABEL=${p.label}`);
    assertIncludes(text, "TYPE=ext4");
    assertIncludes(text, `UUID=${p.guid.toLowerCase()}`);
  }
});
