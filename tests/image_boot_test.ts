/**
 * End to end: the real image pipeline builds (or reuses a build of the same
 * inputs), and the image boots under QEMU TCG to the probe, which reads
 * /proc/version, checks the read-only root and the virtio devices, and
 * powers off; QEMU then exits by itself.
 */
import { cachedBuild, repoRootOf } from "../image/cached_build.ts";
import { composeCmdline } from "../lib/layout/mod.ts";
import { startVm } from "../image/qemu.ts";
import { assert, assertEquals, assertIncludes } from "../lib/testing/mod.ts";

const repoRoot = repoRootOf(import.meta.url, 1);

Deno.test("the image boots under QEMU to the probe and powers off", async (t) => {
  const image = await cachedBuild({ repoRoot });
  assert(image.disk !== undefined, "the cached build has a disk");

  await using vm = await startVm({
    ...image.boot,
    cmdline: composeCmdline(image.cmdline, ["panic=-1", "bronze.init=probe"]),
    disk: image.disk,
    network: true,
  });
  const wait = (re: RegExp) => vm.console.waitFor(re, { timeoutMs: 150_000 });

  await t.step("the kernel starts the Deno init", async () => {
    await wait(/Run \/usr\/bin\/deno as init process/);
    await wait(/bronze-init: starting \(Deno \d+\.\d+\.\d+\)/);
    await wait(
      /bronze-init: mounted \/rootfs\.sqsh \(\/dev\/loop\d+\) read-only/,
    );
    await wait(/bronze-init: switched root; handing PID 1 to probe/);
  });

  await t.step("the probe runs as PID 1 and reads /proc/version", async () => {
    assertEquals((await wait(/bronze-probe: pid: (\d+)/)).match[1], "1");
    const v = await wait(/bronze-probe: version: (.*)/);
    assertIncludes(
      v.match[1],
      `Linux version ${image.manifest.kernel.release}`,
    );
  });

  await t.step(
    "the root is read-only and the disk and NIC appear",
    async () => {
      assertEquals(
        (await wait(/bronze-probe: root: (.*)/)).match[1],
        "read-only",
      );
      assertEquals((await wait(/bronze-probe: tmpfs: (.*)/)).match[1], "ok");
      const block = (await wait(/bronze-probe: block: (.*)/)).match[1].split(
        ",",
      );
      for (const d of ["vda", "vda1", "vda2"]) {
        assert(
          block.includes(d),
          block.join(","),
        );
      }
      assertIncludes((await wait(/bronze-probe: net: (.*)/)).match[1], "eth0");
    },
  );

  await t.step(
    "a child started as apid cannot read root's key, load a module or ptrace PID 1",
    async () => {
      assertEquals(
        (await wait(/bronze-probe: service identity: (.*)/)).match[1],
        "uid=51 capeff=0000000000000000 read=EACCES module=EPERM ptrace=EPERM",
      );
      assertEquals((await wait(/bronze-probe: result: (.*)/)).match[1], "ok");
    },
  );

  await t.step("QEMU exits after the power-off", async () => {
    await wait(/reboot: Power down/);
    const exit = await vm.shutdown({ timeoutMs: 30_000 });
    assertEquals(
      exit.code,
      0,
      `QEMU exit ${JSON.stringify(exit)}: ${vm.stderr()}`,
    );
  });
});
