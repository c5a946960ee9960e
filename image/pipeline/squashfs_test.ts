import { makeSquashfs } from "./squashfs.ts";
import { sha256File } from "./exec.ts";
import {
  assert,
  assertEquals,
  assertIncludes,
  tempDir,
} from "../../lib/testing/mod.ts";

async function fixture(dir: string, mtime: Date): Promise<void> {
  await Deno.mkdir(`${dir}/usr/lib/bronze`, { recursive: true });
  await Deno.writeTextFile(
    `${dir}/usr/lib/bronze/b.js`,
    "console.log(1)\n".repeat(500),
  );
  await Deno.writeTextFile(`${dir}/usr/lib/bronze/a.js`, "x");
  await Deno.chmod(`${dir}/usr/lib/bronze/a.js`, 0o640);
  await Deno.symlink("usr/lib", `${dir}/lib`);
  for (
    const p of [
      "usr/lib/bronze/a.js",
      "usr/lib/bronze/b.js",
      "usr/lib/bronze",
      "usr",
    ]
  ) {
    await Deno.utime(`${dir}/${p}`, mtime, mtime);
  }
}

Deno.test("makeSquashfs() is reproducible and owned by root", async (t) => {
  await using a = await tempDir();
  await using b = await tempDir();
  await fixture(`${a.path}/src`, new Date(1_000_000_000_000));
  await fixture(`${b.path}/src`, new Date(1_700_000_000_000));
  await makeSquashfs(`${a.path}/src`, `${a.path}/root.sqsh`, { level: 3 });
  await makeSquashfs(`${b.path}/src`, `${b.path}/root.sqsh`, { level: 3 });

  await t.step("same tree, different mtimes: same bytes", async () => {
    assertEquals(
      await sha256File(`${a.path}/root.sqsh`),
      await sha256File(`${b.path}/root.sqsh`),
    );
  });
  await t.step("unsquashfs lists root-owned entries, modes kept", async () => {
    const out = await new Deno.Command("unsquashfs", {
      args: ["-lln", `${a.path}/root.sqsh`],
      stdout: "piped",
      env: { TZ: "UTC" },
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert(
      /-rw-r----- 0\/0 +1 1970-01-01 00:00 squashfs-root\/usr\/lib\/bronze\/a\.js/
        .test(text),
      text,
    );
    assertIncludes(text, "squashfs-root/lib -> usr/lib");
  });
});
