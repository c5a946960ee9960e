import assert from "node:assert/strict";
import {
  applyConfigPatches,
  configDiff,
  ConfigValidationError,
  loadConfigPatch,
  machineConfigFromDocuments,
  parseConfigDocuments,
  patchConfigText,
  PatchError,
  stringifyMachineConfig,
  unifiedDiff,
} from "./mod.ts";
import { goodConfig, TOKEN } from "./_fixtures_test.ts";

const BASE = `version: v1alpha1
machine:
  type: worker
  network:
    hostname: w1
    nameservers: [1.1.1.1]
    interfaces:
      - name: eth0
        addresses: [10.5.0.3/24]
      - name: eth1
        mtu: 1500
cluster:
  name: demo
`;

const MULTI = `${BASE}---
apiVersion: v1alpha1
kind: ExtensionServiceConfig
name: foo
configFiles:
  - content: hello
    mountPath: /etc/foo
---
apiVersion: v1alpha1
kind: SideroLinkConfig
apiUrl: https://example.org
`;

function patch(base: string, ...patches: string[]): unknown[] {
  return applyConfigPatches(
    parseConfigDocuments(base),
    patches.map((p) => loadConfigPatch(p)),
  );
}

// deno-lint-ignore no-explicit-any
type Any = any;

Deno.test("strategic merge patches", async (t) => {
  const cases: {
    name: string;
    base?: string;
    patch: string;
    check: (docs: Any[]) => void;
  }[] = [
    {
      name: "a scalar is replaced, maps merged",
      patch: "machine:\n  network:\n    hostname: w2\n",
      check: ([d]) => {
        assert.equal(d.machine.network.hostname, "w2");
        assert.equal(d.machine.type, "worker");
        assert.deepEqual(d.machine.network.nameservers, ["1.1.1.1"]);
      },
    },
    {
      name: "a list of scalars is appended",
      patch: "machine:\n  network:\n    nameservers: [8.8.8.8]\n",
      check: ([d]) =>
        assert.deepEqual(d.machine.network.nameservers, ["1.1.1.1", "8.8.8.8"]),
    },
    {
      name: "a list marked $patch: replace is replaced",
      patch:
        "machine:\n  network:\n    nameservers:\n      - $patch: replace\n      - 8.8.8.8\n",
      check: ([d]) =>
        assert.deepEqual(d.machine.network.nameservers, ["8.8.8.8"]),
    },
    {
      name: "a mapping marked $patch: replace is replaced",
      patch: "machine:\n  network:\n    $patch: replace\n    hostname: only\n",
      check: ([d]) => assert.deepEqual(d.machine.network, { hostname: "only" }),
    },
    {
      name: "items with the same name are merged",
      patch:
        "machine:\n  network:\n    interfaces:\n      - name: eth0\n        mtu: 9000\n      - name: eth2\n        dhcp: true\n",
      check: ([d]) => {
        const ifs = d.machine.network.interfaces;
        assert.equal(ifs.length, 3);
        assert.deepEqual(ifs[0], {
          name: "eth0",
          addresses: ["10.5.0.3/24"],
          mtu: 9000,
        });
        assert.deepEqual(ifs[2], { name: "eth2", dhcp: true });
      },
    },
    {
      name: "$patch: delete removes a key",
      patch: "machine:\n  network:\n    hostname:\n      $patch: delete\n",
      check: ([d]) => assert.equal("hostname" in d.machine.network, false),
    },
    {
      name: "$patch: delete removes a list item matched by its fields",
      patch:
        "machine:\n  network:\n    interfaces:\n      - name: eth0\n        $patch: delete\n",
      check: ([d]) =>
        assert.deepEqual(d.machine.network.interfaces, [{
          name: "eth1",
          mtu: 1500,
        }]),
    },
    {
      name: "$patch: delete removes a scalar item by $value",
      patch:
        "machine:\n  network:\n    nameservers:\n      - $patch: delete\n        $value: 1.1.1.1\n",
      check: ([d]) => assert.deepEqual(d.machine.network.nameservers, []),
    },
    {
      name: "deleting what is absent changes nothing",
      patch: "machine:\n  install:\n    $patch: delete\n",
      check: (docs) => assert.deepEqual(docs, parseConfigDocuments(BASE)),
    },
    {
      name: "new keys carry no directives",
      patch:
        "machine:\n  install:\n    disk: /dev/vda\n    image:\n      $patch: delete\n",
      check: ([d]) => assert.deepEqual(d.machine.install, { disk: "/dev/vda" }),
    },
    {
      name: "multi-document: matched by kind and name, merged",
      base: MULTI,
      patch:
        "apiVersion: v1alpha1\nkind: ExtensionServiceConfig\nname: foo\nconfigFiles:\n  - content: hello\n    $patch: delete\n  - content: bye\n    mountPath: /etc/bye\n",
      check: (docs) => {
        assert.equal(docs.length, 3);
        assert.deepEqual(docs[1].configFiles, [{
          content: "bye",
          mountPath: "/etc/bye",
        }]);
      },
    },
    {
      name: "multi-document: a document deleted, one appended",
      base: MULTI,
      patch:
        "apiVersion: v1alpha1\nkind: SideroLinkConfig\n$patch: delete\n---\napiVersion: v1alpha1\nkind: Other\nname: x\nv: 1\n",
      check: (docs) => {
        assert.deepEqual(docs.map((d) => d.kind), [
          undefined,
          "ExtensionServiceConfig",
          "Other",
        ]);
      },
    },
    {
      name: "multi-document: a kind-less patch goes to the v1alpha1 document",
      base: MULTI,
      patch: "machine:\n  network:\n    hostname: m\n",
      check: (docs) => assert.equal(docs[0].machine.network.hostname, "m"),
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => c.check(patch(c.base ?? BASE, c.patch)));
  }
  await t.step("a mapping into a list is refused with the path", () => {
    assert.throws(
      () => patch(BASE, "machine:\n  network:\n    nameservers: {a: 1}\n"),
      (e: unknown) =>
        e instanceof PatchError && e.path === ".machine.network.nameservers",
    );
  });
  await t.step("an unknown directive is refused", () => {
    assert.throws(
      () => patch(BASE, "machine:\n  network:\n    $patch: merge\n"),
      /unknown \$patch directive "merge"/,
    );
  });
  await t.step("applying the same patch twice is stable for deletes", () => {
    const p = "machine:\n  network:\n    hostname:\n      $patch: delete\n";
    assert.deepEqual(patch(BASE, p, p), patch(BASE, p));
  });
});

Deno.test("JSON patches (RFC 6902)", async (t) => {
  const ok: {
    name: string;
    patch: string;
    base?: string;
    check: (d: Any[]) => void;
  }[] = [
    {
      name: "add, replace, remove in JSON",
      patch:
        '[{"op":"add","path":"/machine/install","value":{"disk":"/dev/vda"}},{"op":"replace","path":"/machine/network/hostname","value":"j"},{"op":"remove","path":"/machine/network/interfaces/1"}]',
      check: ([d]) => {
        assert.deepEqual(d.machine.install, { disk: "/dev/vda" });
        assert.equal(d.machine.network.hostname, "j");
        assert.equal(d.machine.network.interfaces.length, 1);
      },
    },
    {
      name: "a YAML list of operations, append with -",
      patch:
        "- op: add\n  path: /machine/network/nameservers/-\n  value: 9.9.9.9\n- op: test\n  path: /machine/network/nameservers/1\n  value: 9.9.9.9\n",
      check: ([d]) =>
        assert.deepEqual(d.machine.network.nameservers, ["1.1.1.1", "9.9.9.9"]),
    },
    {
      name: "move and copy",
      patch:
        '[{"op":"copy","from":"/machine/network/hostname","path":"/cluster/alias"},{"op":"move","from":"/cluster/alias","path":"/cluster/other"}]',
      check: ([d]) => {
        assert.equal(d.cluster.other, "w1");
        assert.equal("alias" in d.cluster, false);
      },
    },
    {
      name: "escaped pointer tokens",
      patch: '[{"op":"add","path":"/cluster/a~1b~0c","value":1}]',
      check: ([d]) => assert.equal(d.cluster["a/b~c"], 1),
    },
    {
      name: "multi-document: the v1alpha1 document by default",
      base: MULTI,
      patch:
        '[{"op":"replace","path":"/machine/network/hostname","value":"mm"}]',
      check: (docs) => {
        assert.equal(docs[0].machine.network.hostname, "mm");
        assert.equal(docs.length, 3);
      },
    },
    {
      name: "multi-document: another document by kind/name",
      base: MULTI,
      patch:
        "- op: add\n  path: /configFiles/-\n  document: ExtensionServiceConfig/foo\n  value: {content: x, mountPath: /x}\n",
      check: (docs) => assert.equal(docs[1].configFiles.length, 2),
    },
  ];
  for (const c of ok) {
    await t.step(c.name, () => c.check(patch(c.base ?? BASE, c.patch)));
  }
  const bad: { name: string; patch: string; base?: string; error: RegExp }[] = [
    {
      name: "replace of a missing key",
      patch: '[{"op":"replace","path":"/machine/nope","value":1}]',
      error:
        /operation 0 \(replace "\/machine\/nope"\): the target does not exist/,
    },
    {
      name: "an index out of range",
      patch: '[{"op":"add","path":"/machine/network/nameservers/5","value":1}]',
      error: /index 5 is out of range/,
    },
    {
      name: "a failed test",
      patch: '[{"op":"test","path":"/machine/type","value":"controlplane"}]',
      error: /the value is not "controlplane"/,
    },
    {
      name: "an unknown op",
      patch: '[{"op":"merge","path":"/a"}]',
      error: /"op" must be one of/,
    },
    {
      name: "a pointer without a leading slash",
      patch: '[{"op":"remove","path":"machine"}]',
      error: /must be empty or start with "\/"/,
    },
    {
      name: "__proto__ in a pointer",
      patch: '[{"op":"add","path":"/__proto__/x","value":1}]',
      error: /"__proto__" is not allowed/,
    },
    {
      name: "a move into its own child",
      patch: '[{"op":"move","from":"/machine","path":"/machine/x"}]',
      error: /into itself/,
    },
    {
      name: "an unknown document",
      base: MULTI,
      patch: '[{"op":"remove","path":"/a","document":"Nope"}]',
      error: /no document "Nope"/,
    },
    {
      name: "bad JSON",
      patch: '[{"op":',
      error: /not a JSON patch/,
    },
  ];
  for (const c of bad) {
    await t.step(`refused: ${c.name}`, () => {
      assert.throws(() => patch(c.base ?? BASE, c.patch), c.error);
    });
  }
  await t.step("a failed patch leaves the input unchanged", () => {
    const docs = parseConfigDocuments(BASE);
    const before = structuredClone(docs);
    assert.throws(() =>
      applyConfigPatches(docs, [
        loadConfigPatch(
          '[{"op":"remove","path":"/machine/type"},{"op":"remove","path":"/x"}]',
        ),
      ]), {
      name: "PatchError",
      message: /\(remove "\/x"\): the target does not exist/,
    });
    assert.deepEqual(docs, before);
  });
});

Deno.test("patchConfigText() and machineConfigFromDocuments()", async (t) => {
  const yaml = stringifyMachineConfig(goodConfig());
  await t.step("a valid patch gives a valid config", () => {
    const out = patchConfigText(yaml, [
      loadConfigPatch("machine:\n  network:\n    hostname: cp9\n"),
    ]);
    const config = machineConfigFromDocuments(parseConfigDocuments(out));
    assert.equal(config.machine.network?.hostname, "cp9");
  });
  await t.step("an invalid result is refused with every path", () => {
    const out = patchConfigText(yaml, [
      loadConfigPatch(
        '[{"op":"replace","path":"/machine/type","value":"boss"},{"op":"add","path":"/machine/bogus","value":1}]',
      ),
    ]);
    assert.throws(
      () => machineConfigFromDocuments(parseConfigDocuments(out)),
      (e: unknown) =>
        e instanceof ConfigValidationError &&
        e.problems.some((p) => p.path === ".machine.type") &&
        e.problems.some((p) => p.path === ".machine.bogus"),
    );
  });
  await t.step("several documents are not a machine config", () => {
    assert.throws(
      () => machineConfigFromDocuments(parseConfigDocuments(MULTI)),
      /one v1alpha1 document, got 3/,
    );
  });
});

Deno.test("configDiff() redacts secrets on both sides", () => {
  const a = goodConfig();
  const b = goodConfig();
  b.machine.network!.hostname = "cp2";
  b.machine.token = "zzz999.0123456789abcdef";
  const diff = configDiff([a], [b]);
  assert.match(diff, /^--- a\/config\n\+\+\+ b\/config\n@@ /);
  assert.ok(diff.includes("\n-    hostname: cp1\n+    hostname: cp2\n"), diff);
  assert.match(diff, /# machine\.token changed/);
  assert.equal(diff.includes(TOKEN), false);
  assert.equal(diff.includes("zzz999"), false);
  assert.equal(diff.includes(a.machine.ca.key!), false);
  assert.equal(configDiff([a], [structuredClone(a)]), "");
});

Deno.test("unifiedDiff() hunks", async (t) => {
  const lines = (n: number, f: (i: number) => string) =>
    Array.from({ length: n }, (_, i) => f(i)).join("\n") + "\n";
  await t.step("two far changes make two hunks with context", () => {
    const a = lines(30, (i) => `l${i}`);
    const b = lines(30, (i) => i === 2 ? "X" : i === 25 ? "Y" : `l${i}`);
    const d = unifiedDiff(a, b);
    assert.equal(d.split("\n").filter((l) => l.startsWith("@@")).length, 2);
    assert.match(d, /@@ -1,6 \+1,6 @@\n l0\n l1\n-l2\n\+X\n l3/);
    assert.match(d, /@@ -23,7 \+23,7 @@/);
  });
  await t.step("insert into and delete from empty", () => {
    assert.equal(
      unifiedDiff("", "a\n"),
      "--- a/config\n+++ b/config\n@@ -0,0 +1,1 @@\n+a\n",
    );
    assert.equal(
      unifiedDiff("a\n", ""),
      "--- a/config\n+++ b/config\n@@ -1,1 +0,0 @@\n-a\n",
    );
  });
  await t.step("applying the diff's edits gives the new text", () => {
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < 50; round++) {
      const a = lines(
        Math.floor(rand() * 20),
        () => `v${Math.floor(rand() * 5)}`,
      );
      const b = lines(
        Math.floor(rand() * 20),
        () => `v${Math.floor(rand() * 5)}`,
      );
      const d = unifiedDiff(a === "\n" ? "" : a, b === "\n" ? "" : b);
      assert.equal(applyDiff(a === "\n" ? "" : a, d), b === "\n" ? "" : b);
    }
  });
});

/** Applies a unified diff to `a` (test oracle for unifiedDiff). */
function applyDiff(a: string, diff: string): string {
  if (diff === "") return a;
  const old = a === "" ? [] : a.replace(/\n$/, "").split("\n");
  const out: string[] = [];
  let at = 0;
  for (const line of diff.replace(/\n$/, "").split("\n").slice(2)) {
    const h = /^@@ -(\d+),(\d+) /.exec(line);
    if (h) {
      const start = Number(h[2]) === 0 ? Number(h[1]) : Number(h[1]) - 1;
      while (at < start) out.push(old[at++]);
    } else if (line.startsWith("+")) out.push(line.slice(1));
    else if (line.startsWith("-")) {
      assert.equal(old[at++], line.slice(1));
    } else {
      assert.equal(old[at++], line.slice(1));
      out.push(line.slice(1));
    }
  }
  while (at < old.length) out.push(old[at++]);
  return out.length === 0 ? "" : out.join("\n") + "\n";
}

/** A small seeded generator (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test("seeded random patches against the validator", () => {
  const yaml = stringifyMachineConfig(goodConfig());
  const docs = parseConfigDocuments(yaml);
  const pointers = [
    "",
    "/version",
    "/machine",
    "/machine/type",
    "/machine/token",
    "/machine/ca",
    "/machine/ca/crt",
    "/machine/certSANs",
    "/machine/certSANs/0",
    "/machine/certSANs/-",
    "/machine/network",
    "/machine/network/hostname",
    "/machine/network/interfaces/0",
    "/machine/network/interfaces/0/addresses/-",
    "/machine/network/interfaces/0/mtu",
    "/machine/network/nameservers/0",
    "/machine/install/disk",
    "/cluster/name",
    "/cluster/controlPlane/endpoint",
    "/cluster/nope",
    "/x/y",
  ];
  const values: unknown[] = [
    "x",
    "",
    0,
    -1,
    65536,
    1500,
    true,
    null,
    [],
    {},
    ["10.0.0.1/24"],
    { name: "eth9" },
    "10.0.0.300/24",
    "worker",
    "a".repeat(300),
  ];
  const ops = ["add", "remove", "replace", "move", "copy", "test"];
  let accepted = 0;
  let refused = 0;
  let failed = 0;
  for (let seed = 1; seed <= 400; seed++) {
    const r = rng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
    const n = 1 + Math.floor(r() * 3);
    const patchOps = Array.from({ length: n }, () => ({
      op: pick(ops),
      path: pick(pointers),
      from: pick(pointers),
      value: pick(values),
    }));
    const strategic = r() < 0.5;
    let text: string;
    if (strategic) {
      // A strategic patch: a random value put at a random place.
      const path = pick(pointers).split("/").filter(Boolean).filter((t) =>
        t !== "-" && !/^\d+$/.test(t)
      );
      let v: unknown = r() < 0.2
        ? { $patch: pick(["delete", "replace"]) }
        : pick(values);
      for (const key of path.reverse()) v = { [key]: v };
      text = JSON.stringify(v);
    } else {
      text = JSON.stringify(patchOps);
    }
    let out: unknown[];
    try {
      out = applyConfigPatches(docs, [loadConfigPatch(text)]);
    } catch (err) {
      assert.ok(
        err instanceof PatchError || err instanceof ConfigValidationError,
        `seed ${seed}: ${err}`,
      );
      failed++;
      continue;
    }
    try {
      const config = machineConfigFromDocuments(out);
      assert.equal(config.version, "v1alpha1");
      accepted++;
    } catch (err) {
      assert.ok(err instanceof ConfigValidationError, `seed ${seed}: ${err}`);
      assert.ok(err.problems.length > 0);
      for (const p of err.problems) {
        assert.ok(
          p.path === "" || p.path.startsWith("."),
          `seed ${seed}: ${p.path}`,
        );
        assert.ok(p.message.length > 0);
      }
      refused++;
    }
  }
  // The generator reaches every outcome; none of them crashed.
  assert.ok(accepted > 10, `accepted ${accepted}`);
  assert.ok(refused > 10, `refused ${refused}`);
  assert.ok(failed > 10, `failed ${failed}`);
});
