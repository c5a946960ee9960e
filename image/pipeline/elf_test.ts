import { ElfFile, parseModinfo, readModinfo } from "./elf.ts";
import { syntheticElf } from "./_elf_fixtures_test.ts";
import {
  assert,
  assertEquals,
  assertIncludes,
  assertThrows,
  tempDir,
} from "../../lib/testing/mod.ts";

Deno.test("readModinfo() reads a module's dependency fields", async (t) => {
  await using dir = await tempDir();
  const info = new TextEncoder().encode(
    "license=GPL\0softdep=pre: crypto-crc32c post: x\0alias=fs-ext4\0" +
      "alias=ext3\0depends=jbd2,mbcache,crc16\0name=ext4\0",
  );
  const path = `${dir.path}/ext4.ko`;
  await Deno.writeFile(
    path,
    syntheticElf({ ".text": new Uint8Array(8), ".modinfo": info }),
  );

  await t.step("depends, softdep pre and aliases", () => {
    assertEquals(readModinfo(path), {
      depends: ["jbd2", "mbcache", "crc16"],
      softdepPre: ["crypto-crc32c"],
      aliases: ["fs-ext4", "ext3"],
    });
  });
  await t.step("parseModinfo() keeps repeated keys", () => {
    assertEquals(parseModinfo(info).filter(([k]) => k === "alias").length, 2);
  });
  await t.step("a file without .modinfo is named in the error", async () => {
    const bare = `${dir.path}/bare.ko`;
    await Deno.writeFile(bare, syntheticElf({ ".text": new Uint8Array(4) }));
    const err = assertThrows(() => readModinfo(bare));
    assertIncludes(String(err), "bare.ko");
  });
  await t.step("a non-ELF file is refused with its path", async () => {
    const junk = `${dir.path}/junk.ko`;
    await Deno.writeTextFile(junk, "#!/bin/sh\n".repeat(10));
    const err = assertThrows(() => ElfFile.open(junk)) as Error;
    assertIncludes(err.message, "junk.ko");
    assertIncludes(String((err.cause as Error).message), "bad magic");
  });
});

Deno.test("ElfFile.dynamic() lists the Deno binary's libraries", () => {
  using elf = ElfFile.open(Deno.execPath());
  const dyn = elf.dynamic();
  assertEquals(dyn.interpreter, "/lib64/ld-linux-x86-64.so.2");
  assert(dyn.needed.includes("libc.so.6"), dyn.needed.join(","));
  assert(dyn.needed.every((n) => n.endsWith(".so.6") || /\.so\.\d+$/.test(n)));
});
