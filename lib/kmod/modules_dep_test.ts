import {
  formatModulesAlias,
  formatModulesDep,
  formatModulesSoftdep,
  moduleClosure,
  moduleName,
  parseModulesAlias,
  parseModulesBuiltin,
  parseModulesDep,
  parseModulesSoftdep,
  parseSoftdepValue,
} from "./modules_dep.ts";
import { assertEquals, assertIncludes, assertThrows } from "../testing/mod.ts";

function throwsWith(fn: () => unknown, part: string): void {
  const err = assertThrows(fn);
  assertIncludes(err instanceof Error ? err.message : String(err), part);
}

const DEP = `kernel/drivers/virtio/virtio.ko:
kernel/drivers/virtio/virtio_ring.ko:
kernel/drivers/virtio/virtio_pci_modern_dev.ko:
kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio_pci_modern_dev.ko kernel/drivers/virtio/virtio.ko
kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko
kernel/net/core/failover.ko:
kernel/drivers/net/virtio_net.ko: kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko kernel/drivers/net/net_failover.ko
kernel/fs/ext4/ext4.ko: kernel/fs/jbd2/jbd2.ko kernel/fs/mbcache.ko kernel/lib/crc16.ko
kernel/fs/jbd2/jbd2.ko:
kernel/fs/mbcache.ko:
kernel/lib/crc16.ko:
kernel/crypto/crc32c_generic.ko:
kernel/drivers/char/hw_random/virtio-rng.ko: kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko
`;

Deno.test("moduleName() canonicalises module file names", () => {
  assertEquals(moduleName("kernel/fs/ext4/ext4.ko"), "ext4");
  assertEquals(moduleName("a/virtio-rng.ko.xz"), "virtio_rng");
  assertEquals(moduleName("crc16.ko.zst"), "crc16");
  throwsWith(() => moduleName("kernel/fs/ext4/ext4.o"), "ext4.o");
});

Deno.test("parseModulesDep() and formatModulesDep()", async (t) => {
  await t.step("round trip is sorted and stable", () => {
    const deps = parseModulesDep(DEP);
    assertEquals(deps.size, 13);
    assertEquals(deps.get("kernel/fs/ext4/ext4.ko"), [
      "kernel/fs/jbd2/jbd2.ko",
      "kernel/fs/mbcache.ko",
      "kernel/lib/crc16.ko",
    ]);
    const text = formatModulesDep(deps);
    assertEquals(formatModulesDep(parseModulesDep(text)), text);
    assertEquals(text.split("\n")[0], "kernel/crypto/crc32c_generic.ko:");
  });
  await t.step("rejects a line without a path", () => {
    throwsWith(() => parseModulesDep("nonsense\n"), "line 1");
    throwsWith(() => parseModulesDep("x.txt: y.ko\n"), "x.txt");
  });
  await t.step("rejects a path that leaves the modules folder", () => {
    throwsWith(() => parseModulesDep("a.ko:\n../evil.ko:\n"), "line 2");
    throwsWith(
      () => parseModulesDep("/lib/evil.ko:\n"),
      "leaves the modules folder",
    );
    throwsWith(
      () => parseModulesDep("kernel/../../evil.ko:\n"),
      "leaves the modules folder",
    );
  });
});

Deno.test("moduleClosure() orders dependencies first", async (t) => {
  const index = {
    deps: parseModulesDep(DEP),
    softdepPre: parseModulesSoftdep("softdep ext4 pre: crypto-crc32c\n"),
    aliases: parseModulesAlias(
      "alias crypto-crc32c crc32c_generic\nalias crc32c crc32c_generic\n",
    ),
  };
  await t.step("transitive deps, each once, before their users", () => {
    const order = moduleClosure(["virtio_net", "virtio_pci"], index);
    assertEquals(order.map(moduleName), [
      "virtio_ring",
      "virtio",
      "failover",
      "net_failover",
      "virtio_net",
      "virtio_pci_modern_dev",
      "virtio_pci",
    ]);
  });
  await t.step("softdeps resolve through aliases and load first", () => {
    const order = moduleClosure(["ext4"], index);
    assertEquals(order.map(moduleName), [
      "crc32c_generic",
      "jbd2",
      "mbcache",
      "crc16",
      "ext4",
    ]);
    assertEquals(
      moduleClosure(["ext4"], index, { softdeps: false }).length,
      4,
    );
  });
  await t.step("modprobe order: last-listed dependency first", () => {
    assertEquals(
      moduleClosure(["virtio_net"], index, { modprobeOrder: true }).map(
        moduleName,
      ),
      ["failover", "net_failover", "virtio", "virtio_ring", "virtio_net"],
    );
  });
  await t.step("names with dashes match", () => {
    assertEquals(moduleClosure(["virtio-rng"], index).map(moduleName), [
      "virtio_ring",
      "virtio",
      "virtio_rng",
    ]);
  });
  await t.step("an unknown module is named in the error", () => {
    throwsWith(
      () => moduleClosure(["nosuch"], index),
      'Kernel module "nosuch" not found',
    );
  });
  await t.step("a missing dependency is named", () => {
    const broken = { deps: parseModulesDep("a.ko: b.ko\n") };
    throwsWith(() => moduleClosure(["a"], broken), '"b.ko"');
  });
  await t.step("a cycle is reported", () => {
    const cyclic = { deps: parseModulesDep("a.ko: b.ko\nb.ko: a.ko\n") };
    throwsWith(() => moduleClosure(["a"], cyclic), "a -> b -> a");
  });
  await t.step("an unresolvable softdep is reported, not fatal", () => {
    const seen: string[] = [];
    const idx = {
      deps: parseModulesDep("x.ko:\n"),
      softdepPre: new Map([["x", ["ghost"]]]),
    };
    assertEquals(
      moduleClosure(["x"], idx, { onUnresolved: (m, s) => seen.push(m + s) }),
      ["x.ko"],
    );
    assertEquals(seen, ["xghost"]);
  });
});

Deno.test("softdep and alias files round trip", () => {
  assertEquals(parseSoftdepValue("pre: a b post: c"), {
    pre: ["a", "b"],
    post: ["c"],
  });
  throwsWith(() => parseSoftdepValue("a b"), "a b");
  const soft = new Map([["ext4", ["crc32c_generic"]], ["zz", []]]);
  assertEquals(
    formatModulesSoftdep(soft),
    "softdep ext4 pre: crc32c_generic\n",
  );
  const aliases = new Map([["pci:v1AF4*", ["virtio_pci"]], ["b", ["y", "x"]]]);
  const text = formatModulesAlias(aliases);
  assertEquals(text, "alias b x\nalias b y\nalias pci:v1AF4* virtio_pci\n");
  assertEquals(formatModulesAlias(parseModulesAlias(text)), text);
});

Deno.test("parseModulesAlias() skips bad lines only when told to", () => {
  const text = `alias virtio:d00000002v* virtio-blk
alias only-two
alias a b c d
alias pci:v* bad/name
alias pci:v00001AF4* virtio_pci
`;
  throwsWith(() => parseModulesAlias(text), "line 2");
  const bad: number[] = [];
  const aliases = parseModulesAlias(text, { onBadLine: (n) => bad.push(n) });
  assertEquals(bad, [2, 3, 4]);
  assertEquals([...aliases], [
    ["virtio:d00000002v*", ["virtio_blk"]],
    ["pci:v00001AF4*", ["virtio_pci"]],
  ]);
  throwsWith(
    () => parseModulesAlias("\n".repeat(1_000_000)),
    "more than 1000000",
  );
});

Deno.test("parseModulesBuiltin() gives canonical names", () => {
  assertEquals(
    parseModulesBuiltin("kernel/fs/ext4/ext4.ko\n\nkernel/a/sr-mod.ko\n"),
    new Set(["ext4", "sr_mod"]),
  );
  throwsWith(() => parseModulesBuiltin("a.ko\nnot-a-module\n"), "line 2");
});
