import { parseInitConfig, programFromCmdline } from "./init_config.ts";
import { loopConfig } from "./loop.ts";
import { bootStamp } from "../../lib/log/mod.ts";
import { composeCmdline, imageCmdline } from "../../lib/layout/mod.ts";
import {
  assertEquals,
  assertIncludes,
  assertThrows,
} from "../../lib/testing/mod.ts";

const GOOD = {
  release: "6.1.0-56-amd64",
  modules: ["loop", "squashfs"],
  rootfs: "/rootfs.sqsh",
  newRoot: "/newroot",
  binds: ["/usr/bin/deno"],
  env: { HOME: "/" },
  programs: { probe: { script: "/usr/lib/bronze/probe.js" } },
  defaultProgram: "probe",
};

Deno.test("parseInitConfig() accepts the build's config and names bad fields", () => {
  assertEquals(parseInitConfig(GOOD), GOOD);
  const bad = (patch: Record<string, unknown>) =>
    String(
      (assertThrows(() => parseInitConfig({ ...GOOD, ...patch })) as Error)
        .message,
    );
  assertIncludes(
    bad({ rootfs: "rootfs.sqsh" }),
    "rootfs must be an absolute path",
  );
  assertIncludes(bad({ binds: ["/a/../b"] }), "binds[]");
  assertIncludes(bad({ defaultProgram: "machined" }), "defaultProgram");
  assertIncludes(
    bad({ programs: { "Bad Name": { script: "/x" } } }),
    "program name",
  );
  assertIncludes(bad({ env: { A: 1 } }), "env");
  assertIncludes(bad({ release: "../x" }), "release");
});

Deno.test("programFromCmdline() reads bronze.init=", () => {
  assertEquals(
    programFromCmdline("console=ttyS0 bronze.init=probe -- run /init.js"),
    "probe",
  );
  assertEquals(programFromCmdline("console=ttyS0"), undefined);
});

Deno.test("loopConfig() lays out struct loop_config", () => {
  const b = loopConfig(7, "/rootfs.sqsh");
  const v = new DataView(b.buffer);
  assertEquals(b.length, 304);
  assertEquals(v.getUint32(0, true), 7);
  assertEquals(v.getUint32(60, true), 1); // LO_FLAGS_READ_ONLY, no autoclear
  assertEquals(new TextDecoder().decode(b.subarray(64, 76)), "/rootfs.sqsh");
  assertEquals(b[76], 0);
});

Deno.test("bootStamp() formats like printk", () => {
  assertEquals(bootStamp(4.1234567), "[    4.123457]");
  assertEquals(bootStamp(123456.5), "[123456.500000]");
});

Deno.test("composeCmdline() puts kernel arguments before the init's", () => {
  const base = imageCmdline();
  assertIncludes(base, "rdinit=/usr/bin/deno");
  const c = composeCmdline(base, ["panic=-1", "bronze.init=probe"]);
  const [kernel, init] = c.split(" -- ");
  assertIncludes(kernel, "panic=-1 bronze.init=probe");
  assertEquals(init.split(" ").at(-1), "/init.js");
  assertEquals(composeCmdline("a b", ["c"]), "a b c");
});

Deno.test("parseInitConfig() takes preload paths under the modules folder only", () => {
  const ok = { ...GOOD, preload: ["kernel/fs/ext4/ext4.ko"] };
  assertEquals(parseInitConfig(ok).preload, ["kernel/fs/ext4/ext4.ko"]);
  for (const bad of ["/kernel/x.ko", "../x.ko", "a/../../x.ko"]) {
    assertIncludes(
      String(
        (assertThrows(() =>
          parseInitConfig({ ...GOOD, preload: [bad] })
        ) as Error)
          .message,
      ),
      "preload[]",
    );
  }
});
