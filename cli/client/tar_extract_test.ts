import {
  assert,
  assertEquals,
  assertRejects,
  tempDir,
} from "../../lib/testing/mod.ts";
import { extractTarGz, safeEntryName } from "./tar_extract.ts";

/** Builds a .tar.gz with Python's tarfile (an independent writer). */
async function pyTar(out: string, script: string): Promise<void> {
  const code = `import io, tarfile, sys
t = tarfile.open(sys.argv[1], "w:gz", format=tarfile.PAX_FORMAT)
def f(name, data=b"x", mode=0o644):
    i = tarfile.TarInfo(name); i.size = len(data); i.mode = mode
    t.addfile(i, io.BytesIO(data))
def d(name):
    i = tarfile.TarInfo(name); i.type = tarfile.DIRTYPE; i.mode = 0o755
    t.addfile(i)
def l(name, target):
    i = tarfile.TarInfo(name); i.type = tarfile.SYMTYPE; i.linkname = target
    t.addfile(i)
${script}
t.close()
`;
  const r = await new Deno.Command("python3", {
    args: ["-c", code, out],
    stderr: "piped",
  }).output();
  assert(r.success, new TextDecoder().decode(r.stderr));
}

async function extract(archive: string, dest: string) {
  using f = await Deno.open(archive);
  return await extractTarGz(f.readable, dest);
}

Deno.test("extractTarGz() makes folders, files and links", async () => {
  await using dir = await tempDir();
  const archive = `${dir.path}/a.tar.gz`;
  const long = "n".repeat(150) + "/" + "m".repeat(120);
  await pyTar(
    archive,
    `d("sub")
f("sub/one", b"hello\\n", 0o4755)
f("${long}", b"long")
l("sub/link", "/etc/hostname")
f("big", b"z" * 300000)`,
  );
  const dest = `${dir.path}/out`;
  const s = await extract(archive, dest);
  assertEquals(s, { files: 3, dirs: 1, links: 1, skipped: 0 });
  assertEquals(await Deno.readTextFile(`${dest}/sub/one`), "hello\n");
  // setuid is dropped.
  assertEquals((await Deno.stat(`${dest}/sub/one`)).mode! & 0o7777, 0o755);
  assertEquals(await Deno.readTextFile(`${dest}/${long}`), "long");
  assertEquals(await Deno.readLink(`${dest}/sub/link`), "/etc/hostname");
  assertEquals((await Deno.stat(`${dest}/big`)).size, 300000);
});

Deno.test("extractTarGz() keeps every entry inside the destination", async (t) => {
  await using dir = await tempDir();
  const cases: [string, string, string][] = [
    ["dot-dot", `f("../escaped")`, '"../escaped"'],
    ["deep dot-dot", `f("a/../../escaped")`, '"a/../../escaped"'],
    ["absolute", `f("/tmp/escaped-abs")`, '"/tmp/escaped-abs"'],
    [
      "a file through a planted link",
      `l("out", "${dir.path}/victim")
f("out/escaped")`,
      "is not a folder (a symlink is never followed)",
    ],
  ];
  await Deno.mkdir(`${dir.path}/victim`);
  for (const [name, script, want] of cases) {
    await t.step(name, async () => {
      const archive = `${dir.path}/${name.replaceAll(" ", "_")}.tar.gz`;
      await pyTar(archive, script);
      const dest = `${dir.path}/dest-${name.replaceAll(" ", "_")}`;
      await assertRejects(() => extract(archive, dest), Error, want);
      const left = [];
      for await (const e of Deno.readDir(`${dir.path}/victim`)) {
        left.push(e.name);
      }
      assertEquals(left, [], "nothing written outside");
      await assertRejects(() => Deno.stat(`${dir.path}/escaped`), Error);
    });
  }
  await t.step("safeEntryName() normalises the harmless", () => {
    assertEquals(safeEntryName("./a//b/"), "a/b");
  });
});
