/**
 * What the built image holds: no shell and no other program besides Deno
 * and nats-server; the bundles, modules and runtime it needs; a manifest
 * that matches the bytes; sizes within the goal.
 */
import { cachedBuild, repoRootOf } from "../image/cached_build.ts";
import { readCpio } from "../image/pipeline/cpio.ts";
import { sha256File, sha256Hex } from "../image/pipeline/exec.ts";
import { SIZE_GOAL } from "../image/sizes.ts";
import { hasPvhEntry } from "../image/pipeline/vmlinux.ts";
import { assert, assertEquals, tempDir } from "../lib/testing/mod.ts";
import { DatabaseSync } from "node:sqlite";

const repoRoot = repoRootOf(import.meta.url, 1);

/** Names of shells and multi-call tool boxes that must not be in the image. */
const SHELLS = [
  "sh",
  "bash",
  "dash",
  "ash",
  "busybox",
  "toybox",
  "zsh",
  "ksh",
  "mksh",
  "csh",
  "tcsh",
  "fish",
  "rbash",
];

interface Listed {
  path: string;
  mode: string;
}

async function squashfsListing(path: string): Promise<Listed[]> {
  const out = await new Deno.Command("unsquashfs", {
    args: ["-lln", "-d", "", path],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).split("\n")
    .filter((l) => /^[-dlcbps][rwxsStT-]{9} /.test(l))
    .map((l) => {
      const cols = l.split(/\s+/);
      const name = cols.slice(5).join(" ").split(" -> ")[0];
      return { path: name === "" ? "/" : name, mode: cols[0] };
    });
}

async function initramfsBytes(
  path: string,
  compression: "zstd" | "lz4",
): Promise<Uint8Array> {
  const out = await new Deno.Command(compression, {
    args: ["-dc", path],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  return out.stdout;
}

Deno.test("the image holds no shell and only the programs it needs", async (t) => {
  const image = await cachedBuild({ repoRoot });
  const root = await squashfsListing(image.rootfs);
  const shipped = await initramfsBytes(
    image.initramfs,
    image.manifest.initramfsCompression,
  );
  const initramfs = readCpio(shipped);
  const release = image.manifest.kernel.release;

  await t.step("no shell anywhere, by name", () => {
    const names = [
      ...root.map((e) => e.path),
      ...initramfs.map((e) => `/${e.path}`),
    ];
    const found = names.filter((p) =>
      SHELLS.includes(p.slice(p.lastIndexOf("/") + 1))
    );
    assertEquals(found, []);
  });

  await t.step(
    "the root's only executables are Deno's mount point, etcd, nats-server and setpriv",
    () => {
      const exec = root.filter((e) =>
        e.mode.startsWith("-") && /x/.test(e.mode)
      )
        .map((e) => e.path).sort();
      // setpriv starts each service under its own uid and capabilities.
      assertEquals(exec, [
        "/usr/bin/deno",
        "/usr/bin/etcd",
        "/usr/bin/setpriv",
        "/usr/sbin/nats-server",
      ]);
      const deno = root.find((e) => e.path === "/usr/bin/deno");
      assert(deno !== undefined);
    },
  );

  await t.step(
    "the initramfs's only executables are Deno and its libraries",
    () => {
      const exec = initramfs.filter((e) =>
        e.type === "file" && (e.mode & 0o111) !== 0
      )
        .map((e) => e.path);
      for (const p of exec) {
        assert(
          p === "usr/bin/deno" ||
            /^usr\/lib\/x86_64-linux-gnu\/(ld-linux-x86-64|lib[a-z_-]+)\.so\.\d+$/
              .test(p),
          `unexpected executable ${p}`,
        );
      }
      assert(exec.includes("usr/lib/x86_64-linux-gnu/libc.so.6"));
    },
  );

  await t.step("bundles, modules and mount points are in the root", () => {
    const paths = new Set(root.map((e) => e.path));
    for (
      const p of [
        "/usr/lib/bronze/probe.js",
        ...image.manifest.daemons.map((d) => `/usr/lib/bronze/${d}.js`),
        "/usr/lib/bronze/apid-maintenance.js",
        "/usr/lib/bronze/build_info.json",
        `/usr/lib/modules/${release}/modules.dep`,
        `/usr/lib/modules/${release}/kernel/fs/ext4/ext4.ko`,
        `/usr/lib/modules/${release}/kernel/drivers/net/virtio_net.ko`,
        "/usr/lib/x86_64-linux-gnu",
        "/dev",
        "/proc",
        "/sys",
        "/run",
        "/var",
        "/system/state",
      ]
    ) assert(paths.has(p), `missing ${p}`);
  });

  // The bundles and their chunks, as the root holds them: name -> code.
  const bundles = new Map<string, string>();
  {
    const dir = await Deno.makeTempDir({ prefix: "bronze-bundles-" });
    try {
      await new Deno.Command("unsquashfs", {
        args: ["-q", "-f", "-d", dir, image.rootfs, "/usr/lib/bronze"],
        stdout: "null",
      }).output();
      for await (const e of Deno.readDir(`${dir}/usr/lib/bronze`)) {
        if (e.name.endsWith(".js")) {
          bundles.set(
            e.name,
            await Deno.readTextFile(`${dir}/usr/lib/bronze/${e.name}`),
          );
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
  const localImports = (code: string): string[] =>
    [...code.matchAll(/(?:from\s*|import\s*\(\s*)["']\.\/([^"']+)["']/g)]
      .map((m) => m[1]);

  await t.step("every file a bundle imports is in the root", () => {
    // Code a daemon only imports dynamically lives in chunk files beside
    // the bundles (image/pipeline/bundle.ts); a missing one fails only when
    // the daemon gets there (a worker's first certificate, say).
    assert(
      [...bundles.keys()].some((f) => /^chunk-\w+\.js$/.test(f)),
      "chunks in the root",
    );
    for (const [file, code] of bundles) {
      for (const target of localImports(code)) {
        assert(bundles.has(target), `${file} imports ./${target}: missing`);
      }
    }
  });

  await t.step("networkd and udevd-lite load nothing of Node's", () => {
    // Deno's Node layer costs a daemon ~8 MB and ~0.5 s of its start under
    // TCG; these two need none of it (NATS over Deno's TCP, own flags).
    for (const name of ["networkd.js", "udevd-lite.js"]) {
      const seen = new Set<string>();
      const visit = (file: string) => {
        if (seen.has(file)) return;
        seen.add(file);
        const code = bundles.get(file) ?? "";
        const found = code.match(
          /(from\s*|import\s*\(\s*)["']node:[\w/]+["']/g,
        );
        assertEquals(found, null, `${file} imports ${found?.join(", ")}`);
        for (const target of localImports(code)) visit(target);
      };
      visit(name);
    }
  });

  await t.step("the initramfs carries the init, its config, the root", () => {
    const paths = new Set(initramfs.map((e) => e.path));
    for (
      const p of [
        "init.js",
        "init.json",
        "deno-dir/v8_code_cache_v2",
        "rootfs.sqsh",
        "dev/console",
        `usr/lib/modules/${release}/kernel/fs/squashfs/squashfs.ko`,
        `usr/lib/modules/${release}/kernel/drivers/block/loop.ko`,
      ]
    ) assert(paths.has(p), `missing ${p}`);
  });

  await t.step(
    "every program and chunk is in the warm code cache",
    async () => {
      const cache = initramfs.find((e) =>
        e.path === "deno-dir/v8_code_cache_v2"
      );
      assert(cache?.type === "file", "no code cache in the initramfs");
      await using dir = await tempDir();
      await Deno.writeFile(`${dir.path}/cache`, cache.data);
      const db = new DatabaseSync(`${dir.path}/cache`, { readOnly: true });
      let cached: string[];
      try {
        cached = (db.prepare("SELECT specifier FROM codecache").all() as Array<
          { specifier: string }
        >).map((r) => r.specifier).filter((s) => s.startsWith("file:"));
      } finally {
        db.close();
      }
      const programs = root.map((e) => e.path)
        .filter((p) => p.startsWith("/usr/lib/bronze/") && p.endsWith(".js"))
        .map((p) => `file://${p}`);
      assertEquals(
        cached.sort(),
        ["file:///init.js", ...programs].sort(),
        "cached code: the init, each bundle and chunk, nothing else",
      );
    },
  );

  await t.step("the manifest's sums match the bytes", async () => {
    for (const e of initramfs) {
      if (e.type !== "file") continue;
      const m = image.manifest.initramfs.find((x) => x.path === `/${e.path}`);
      assert(m !== undefined, `manifest lacks /${e.path}`);
      assertEquals(m.sha256, await sha256Hex(e.data), e.path);
    }
    for (const a of image.manifest.artifacts) {
      if (a.name === "disk.raw") continue;
      assertEquals(
        await sha256File(`${image.outDir}/${a.name}`),
        a.sha256,
        a.name,
      );
    }
  });

  await t.step(
    "QEMU boots the shipped kernel and initramfs uncompressed",
    async () => {
      assertEquals(
        await sha256File(image.boot.initramfs),
        await sha256Hex(shipped),
        "initramfs.cpio is initramfs.zst decompressed",
      );
      assert(hasPvhEntry(image.boot.kernel), "vmlinux has a PVH entry point");
      const s = image.manifest.sizes;
      assertEquals(s.bootKernel, (await Deno.stat(image.boot.kernel)).size);
      assert(s.bootKernel > s.kernel, "vmlinux is larger than vmlinuz");
    },
  );

  await t.step("the compressed image is within the size goal", () => {
    const s = image.manifest.sizes;
    assertEquals(s.total, s.kernel + s.initramfs);
    assert(s.total < SIZE_GOAL, `total ${s.total} bytes >= goal ${SIZE_GOAL}`);
  });
});
