/**
 * Reproducibility: a second build from the same inputs, into another
 * folder, gives the same root squashfs and initramfs bytes.
 */
import { cachedBuild, repoRootOf } from "../image/cached_build.ts";
import { buildImage } from "../image/pipeline/build_image.ts";
import { assertEquals, tempDir } from "../lib/testing/mod.ts";

const repoRoot = repoRootOf(import.meta.url, 1);

Deno.test("two builds of the same inputs are byte-identical", async () => {
  const first = await cachedBuild({ repoRoot });
  await using dir = await tempDir("bronze-image-repro-");
  const second = await buildImage({
    outDir: dir.path,
    cacheDir: `${repoRoot}/image/cache`,
    repoRoot,
    diskSize: 0,
  });
  const sums = (m: typeof first.manifest) =>
    Object.fromEntries(
      m.artifacts.filter((a) => a.name !== "disk.raw").map((
        a,
      ) => [a.name, a.sha256]),
    );
  assertEquals(sums(second.manifest), sums(first.manifest));
  assertEquals(second.manifest.rootfs, first.manifest.rootfs);
  assertEquals(second.manifest.initramfs, first.manifest.initramfs);
});
