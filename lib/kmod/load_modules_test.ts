import {
  inDependencyOrder,
  loadModules,
  loadModulesAsync,
  sysfsModuleLive,
} from "./load_modules.ts";
import { EEXIST, SyscallError } from "../ffi/mod.ts";
import {
  assert,
  assertEquals,
  assertIncludes,
  assertRejects,
  assertThrows,
  tempDir,
  writeTree,
} from "../testing/mod.ts";

/** modules.dep lines of ext4 and what it needs. */
const EXT4_DEP = [
  "kernel/fs/ext4/ext4.ko: kernel/fs/jbd2/jbd2.ko kernel/lib/crc16.ko",
  "kernel/fs/jbd2/jbd2.ko:",
  "kernel/lib/crc16.ko:",
];

Deno.test("loadModules() loads the closure in order and skips what is in", async (t) => {
  await using dir = await tempDir();
  await writeTree(dir.path, {
    "modules.dep": [
      ...EXT4_DEP,
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

/** Lets pending promise callbacks and timers run. */
const tick = () => new Promise<void>((r) => setTimeout(r, 0));

Deno.test("inDependencyOrder() runs what waits for nothing at once, the rest after", async () => {
  const started: string[] = [];
  const finish = new Map<string, () => void>();
  const task = (p: string) =>
    new Promise<void>((resolve) => {
      started.push(p);
      finish.set(p, resolve);
    });
  const before = new Map([["ext4", ["jbd2", "crc16"]], ["jbd2", []]]);
  const done = inDependencyOrder(
    ["jbd2", "crc16", "virtio", "ext4"],
    before,
    task,
  );
  await tick();
  assertEquals(started, ["jbd2", "crc16", "virtio"]);
  finish.get("jbd2")!();
  await tick();
  assertEquals(started, ["jbd2", "crc16", "virtio"], "ext4 waits for crc16");
  finish.get("crc16")!();
  await tick();
  assertEquals(started, ["jbd2", "crc16", "virtio", "ext4"]);
  finish.get("virtio")!();
  finish.get("ext4")!();
  await done;
});

Deno.test("inDependencyOrder() does not run what a failure left without its dependency", async () => {
  const ran: string[] = [];
  const err = await assertRejects(() =>
    inDependencyOrder(
      ["jbd2", "ext4", "virtio"],
      new Map([["ext4", ["jbd2"]]]),
      (p) => {
        ran.push(p);
        return p === "jbd2"
          ? Promise.reject(new Error("jbd2 refused"))
          : Promise.resolve();
      },
    )
  );
  assertIncludes(String(err), "jbd2 refused");
  assertEquals(ran, ["jbd2", "virtio"]);
});

Deno.test("loadModulesAsync() loads the closure after its dependencies and skips what is in", async () => {
  await using dir = await tempDir();
  await writeTree(dir.path, {
    "modules.dep": [
      ...EXT4_DEP,
      "kernel/crypto/crc32c_generic.ko:",
      "",
    ].join("\n"),
    "modules.softdep": "softdep ext4 pre: crc32c-generic\n",
  });
  const done = new Set<string>();
  const calls: string[] = [];
  const loader = {
    async finitModuleAsync(path: string) {
      const p = path.slice(dir.path.length + 1);
      calls.push(p);
      if (p.endsWith("ext4.ko")) {
        for (const d of ["crc16", "crc32c_generic"]) {
          assert(
            [...done].some((x) => x.endsWith(`/${d}.ko`)),
            `${d} before ext4`,
          );
        }
      }
      await tick();
      done.add(p);
      if (p.endsWith("crc16.ko")) {
        throw new SyscallError("Cannot load module", EEXIST);
      }
    },
  };
  const order = await loadModulesAsync(loader, ["ext4"], {
    dir: dir.path,
    isLoaded: (name) => name === "jbd2",
  });
  assertEquals(order.at(-1), "kernel/fs/ext4/ext4.ko");
  assertEquals(order.length, 4);
  assertEquals(calls.sort(), [
    "kernel/crypto/crc32c_generic.ko",
    "kernel/fs/ext4/ext4.ko",
    "kernel/lib/crc16.ko",
  ]);
  // What the loader may ask after a failure: whether the module is in now.
  const asked: boolean[] = [];
  let jbd2In = false;
  await loadModulesAsync(
    {
      finitModuleAsync(_path, { alreadyIn }) {
        asked.push(alreadyIn());
        jbd2In = true;
        asked.push(alreadyIn());
        return Promise.resolve();
      },
    },
    ["jbd2"],
    { dir: dir.path, isLoaded: (n) => n === "jbd2" && jbd2In },
  );
  assertEquals(asked, [false, true]);
  const refused = await assertRejects(() =>
    loadModulesAsync(
      {
        finitModuleAsync: () =>
          Promise.reject(new SyscallError("Cannot load module", 8)),
      },
      ["crc16"],
      { dir: dir.path, isLoaded: () => false },
    )
  );
  assertIncludes(String(refused), "Cannot load module");
});
