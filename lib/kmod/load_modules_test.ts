import { loadModules, sysfsModuleLive } from "./load_modules.ts";
import { EEXIST, SyscallError } from "../ffi/mod.ts";
import {
  assertEquals,
  assertIncludes,
  assertThrows,
  tempDir,
  writeTree,
} from "../testing/mod.ts";

Deno.test("loadModules() loads the closure in order and skips what is in", async (t) => {
  await using dir = await tempDir();
  await writeTree(dir.path, {
    "modules.dep": [
      "kernel/fs/ext4/ext4.ko: kernel/fs/jbd2/jbd2.ko kernel/lib/crc16.ko",
      "kernel/fs/jbd2/jbd2.ko:",
      "kernel/lib/crc16.ko:",
      "kernel/drivers/virtio/virtio-pci.ko:",
      "",
    ].join("\n"),
  });
  const calls: string[] = [];
  const loader = {
    finitModule(path: string) {
      calls.push(path.slice(dir.path.length + 1));
      if (path.endsWith("crc16.ko")) {
        throw new SyscallError("Cannot load module", EEXIST);
      }
    },
  };

  await t.step("dependencies first; EEXIST is fine", () => {
    const order = loadModules(loader, ["ext4"], {
      dir: dir.path,
      isLoaded: () => false,
    });
    assertEquals(order, [
      "kernel/fs/jbd2/jbd2.ko",
      "kernel/lib/crc16.ko",
      "kernel/fs/ext4/ext4.ko",
    ]);
    assertEquals(calls, order);
  });
  await t.step("a loaded module costs no system call", () => {
    calls.length = 0;
    loadModules(loader, ["ext4", "virtio_pci"], {
      dir: dir.path,
      isLoaded: (name) => name === "jbd2" || name === "virtio_pci",
    });
    assertEquals(calls, ["kernel/lib/crc16.ko", "kernel/fs/ext4/ext4.ko"]);
  });
  await t.step("any other failure is thrown", () => {
    const err = assertThrows(() =>
      loadModules(
        {
          finitModule() {
            throw new SyscallError("Cannot load module", 8);
          },
        },
        ["crc16"],
        { dir: dir.path, isLoaded: () => false },
      )
    );
    assertIncludes(String(err), "Cannot load module");
  });
});

Deno.test("sysfsModuleLive() reads initstate", async () => {
  await using dir = await tempDir();
  await writeTree(dir.path, {
    "ext4/initstate": "live\n",
    "jbd2/initstate": "coming\n",
  });
  assertEquals(sysfsModuleLive("ext4", dir.path), true);
  assertEquals(sysfsModuleLive("jbd2", dir.path), false);
  assertEquals(sysfsModuleLive("nope", dir.path), false);
});
