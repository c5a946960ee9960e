import YAML from "yaml";
import {
  ConfigValidationError,
  formatProblem,
  parseMachineConfig,
  redactMachineConfig,
  stringifyMachineConfig,
  validateMachineConfig,
} from "./mod.ts";
import type { MachineConfig } from "./mod.ts";
import { assert, assertEquals, assertThrows } from "../testing/mod.ts";
import { CA_KEY, ETCD_KEY, goodConfig, TOKEN } from "./_fixtures_test.ts";

// deno-lint-ignore no-explicit-any
type Raw = Record<string, any>;

function problemsOf(input: string): string[] {
  const err = assertThrows(() => parseMachineConfig(input));
  if (!(err instanceof ConfigValidationError)) {
    throw new Error(`expected ConfigValidationError, got ${err}`);
  }
  return err.problems.map(formatProblem);
}

function mutated(fn: (c: Raw) => void): string {
  const c = goodConfig() as unknown as Raw;
  fn(c);
  return YAML.stringify(c);
}

Deno.test("parseMachineConfig() accepts a good config and round-trips it", () => {
  const cfg = parseMachineConfig(YAML.stringify(goodConfig()), "cp.yaml");
  assertEquals(cfg, goodConfig());
  assertEquals(parseMachineConfig(stringifyMachineConfig(cfg)), cfg);
  const worker = goodConfig();
  worker.machine.type = "worker";
  delete worker.machine.ca.key;
  delete worker.cluster.etcd;
  assertEquals(parseMachineConfig(YAML.stringify(worker)), worker);
  const noEtcd = goodConfig();
  delete noEtcd.cluster.etcd;
  assertEquals(parseMachineConfig(YAML.stringify(noEtcd)), noEtcd);
});

Deno.test("redactMachineConfig() hides the token and CA keys", () => {
  const r = redactMachineConfig(goodConfig());
  assertEquals(r.machine.token, "******");
  assertEquals(r.machine.ca.key, "******");
  assertEquals(r.cluster.etcd?.ca.key, "******");
  assertEquals(r.cluster.etcd?.ca.crt, goodConfig().cluster.etcd?.ca.crt);
  const text = stringifyMachineConfig(r);
  assert(
    !text.includes(TOKEN) && !text.includes(CA_KEY) && !text.includes(ETCD_KEY),
  );
  assertEquals(goodConfig().machine.token, TOKEN);
});

const TABLE: { name: string; input: string; want: string[] }[] = [
  {
    name: "etcd on a worker",
    input: mutated((c) => {
      c.machine.type = "worker";
      delete c.machine.ca.key;
    }),
    want: ["etcd is configured on controlplane nodes only (.cluster.etcd)"],
  },
  {
    name: "etcd CA without its key",
    input: mutated((c) => delete c.cluster.etcd.ca.key),
    want: [
      "etcd CA key is required for controlplane nodes (.cluster.etcd.ca.key)",
    ],
  },
  {
    name: "etcd CA that is not PEM, and an unknown etcd key",
    input: mutated((c) => {
      c.cluster.etcd.ca.crt = "bm90IGEgY2VydA==";
      c.cluster.etcd.image = "x";
    }),
    want: [
      'unknown key "image" (.cluster.etcd.image)',
      "etcd CA certificate is not a base64-encoded PEM certificate (.cluster.etcd.ca.crt)",
    ],
  },
  {
    name: "etcd without a CA",
    input: mutated((c) => c.cluster.etcd = {}),
    want: ["etcd CA is required (.cluster.etcd.ca)"],
  },
  {
    name: "controlplane without CA key",
    input: mutated((c) => delete c.machine.ca.key),
    want: [
      "issuing CA key is required for controlplane nodes (.machine.ca.key)",
    ],
  },
  {
    name: "worker with CA key",
    input: mutated((c) => {
      c.machine.type = "worker";
      delete c.cluster.etcd;
    }),
    want: [
      "issuing CA key is not allowed on non-controlplane nodes (.machine.ca)",
    ],
  },
  {
    name: "unknown machine type",
    input: mutated((c) => c.machine.type = "x"),
    want: ['unknown machine type "x" (.machine.type)'],
  },
  {
    name: "bad CIDR at a deep path",
    input: mutated((c) =>
      c.machine.network.interfaces[0].addresses[1] = "10.0.0.1/33"
    ),
    want: [
      'invalid CIDR "10.0.0.1/33": prefix length out of range (.machine.network.interfaces[0].addresses[1])',
    ],
  },
  {
    name: "several problems at once, in document order",
    input: mutated((c) => {
      c.version = "v2";
      c.machine.token = "secret-but-wrong";
      c.machine.network.hostname = "-bad-";
      c.machine.network.interfaces[0].mtu = 10;
      c.machine.network.interfaces[0].routes[0].gateway = "fd00::1";
      c.machine.extra = true;
      delete c.cluster.controlPlane.endpoint;
    }),
    want: [
      'unsupported config version "v2": expected "v1alpha1" (.version)',
      'unknown key "extra" (.machine.extra)',
      "invalid machine token: expected the format [a-z0-9]{6}.[a-z0-9]{16} (.machine.token)",
      'invalid hostname "-bad-" (.machine.network.hostname)',
      'gateway "fd00::1" is not in the address family of network "0.0.0.0/0" (.machine.network.interfaces[0].routes[0].gateway)',
      "10 is out of range [68, 65535] (.machine.network.interfaces[0].mtu)",
      "cluster controlplane endpoint is required (.cluster.controlPlane.endpoint)",
    ],
  },
  {
    name: "missing sections",
    input: "version: v1alpha1\n",
    want: [
      "machine instructions are required (.machine)",
      "cluster instructions are required (.cluster)",
    ],
  },
  {
    name: "wrong types",
    input: mutated((c) => {
      c.machine.certSANs = "10.0.0.1";
      c.machine.network.interfaces[0].name = 7;
      c.machine.network.nameservers = ["1.1.1.1", "dns.example"];
      c.cluster.name = ["x"];
    }),
    want: [
      "expected a sequence, got string (.machine.certSANs)",
      "expected a string, got integer (.machine.network.interfaces[0].name)",
      'invalid nameserver "dns.example": not an IP address (.machine.network.nameservers[1])',
      "expected a string, got sequence (.cluster.name)",
    ],
  },
  {
    name: "bad CA material, never echoing secrets",
    input: mutated((c) => {
      c.machine.ca.crt = "bm90IGEgY2VydA==";
      c.machine.ca.key = btoa("hunter2");
    }),
    want: [
      "issuing CA certificate is not a base64-encoded PEM certificate (.machine.ca.crt)",
      "issuing CA key is not a base64-encoded PEM private key (.machine.ca.key)",
    ],
  },
  {
    name: "a TAB or U+FEFF inside the CA certificate's base64",
    input: mutated((c) => {
      const crt: string = c.machine.ca.crt;
      c.machine.ca.crt = `${crt.slice(0, 40)}\t${crt.slice(40)}`;
      c.machine.ca.key = `\uFEFF${c.machine.ca.key}`;
    }),
    want: [
      "issuing CA certificate is not a base64-encoded PEM certificate: character U+0009 at offset 40 is not base64 (.machine.ca.crt)",
      "issuing CA key is not a base64-encoded PEM private key: character U+FEFF at offset 0 is not base64 (.machine.ca.key)",
    ],
  },
  {
    name: "U+FEFF in the CA certificate's base64",
    input: mutated((c) => {
      const crt: string = c.machine.ca.crt;
      c.machine.ca.crt = `${crt.slice(0, 8)}\uFEFF${crt.slice(8)}`;
    }),
    want: [
      "issuing CA certificate is not a base64-encoded PEM certificate: character U+FEFF at offset 8 is not base64 (.machine.ca.crt)",
    ],
  },
  {
    name: "certSANs that only look like addresses or names",
    input: mutated((c) => {
      c.machine.certSANs = ["300.1.1.1", "0x10", "10.0.0.1", "1.2.3", "a.b.9"];
    }),
    want: [
      'invalid certificate SAN "300.1.1.1": not an IP address or DNS name (.machine.certSANs[0])',
      'invalid certificate SAN "0x10": not an IP address or DNS name (.machine.certSANs[1])',
      'invalid certificate SAN "1.2.3": not an IP address or DNS name (.machine.certSANs[3])',
      'invalid certificate SAN "a.b.9": not an IP address or DNS name (.machine.certSANs[4])',
    ],
  },
  {
    name: "bad endpoint, disk, route, duplicate interface",
    input: mutated((c) => {
      c.cluster.controlPlane.endpoint = "http://10.5.0.2:6443";
      c.machine.install.disk = "vda";
      c.machine.network.interfaces[0].routes[0].metric = -1;
      c.machine.network.interfaces.push({ name: "eth0" });
    }),
    want: [
      "-1 is out of range [0, 4294967295] (.machine.network.interfaces[0].routes[0].metric)",
      'duplicate interface "eth0" (.machine.network.interfaces[1].name)',
      'invalid install disk "vda": expected /dev/... (.machine.install.disk)',
      'invalid endpoint "http://10.5.0.2:6443": scheme must be "https", got "http" (.cluster.controlPlane.endpoint)',
    ],
  },
  {
    name: "trusted release keys",
    input: mutated((c) => {
      c.machine.install.trustedKeys = [
        "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n-----END PUBLIC KEY-----\n",
        "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VuAyEAAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n-----END PUBLIC KEY-----\n",
        "ssh-ed25519 AAAA",
      ];
    }),
    want: [
      "not an Ed25519 public key (SPKI PEM) (.machine.install.trustedKeys[1])",
      'expected one "PUBLIC KEY" PEM block (.machine.install.trustedKeys[2])',
    ],
  },
  {
    name: "trusted keys not a list",
    input: mutated((c) => {
      c.machine.install.trustedKeys = "key";
    }),
    want: [
      "expected a list of PEM public keys (.machine.install.trustedKeys)",
    ],
  },
  {
    name: "__proto__ key is just an unknown key",
    input: mutated((c) =>
      Object.defineProperty(c.cluster, "__proto__", {
        value: { polluted: 1 },
        enumerable: true,
      })
    ),
    want: ['unknown key "__proto__" (.cluster.__proto__)'],
  },
  {
    name: "not a mapping",
    input: "- a\n- b\n",
    want: ["expected a mapping, got sequence (.)"],
  },
  { name: "empty", input: "", want: ["machine config is empty"] },
  {
    name: "duplicate keys",
    input: "version: v1alpha1\nversion: v1alpha1\n",
    want: ['duplicate key "version" at line 2, column 1'],
  },
  {
    name: "several documents",
    input: "version: v1alpha1\n---\nversion: v1alpha1\n",
    want: [
      "more than one YAML document at line 2, column 1: Source contains multiple documents; please use YAML.parseAllDocuments()",
    ],
  },
];

Deno.test("parseMachineConfig() reports exactly the expected problems", async (t) => {
  for (const c of TABLE) {
    await t.step(c.name, () => assertEquals(problemsOf(c.input), c.want));
  }
});

Deno.test("ConfigValidationError lists every problem Talos-style", () => {
  const err = assertThrows(() =>
    parseMachineConfig(mutated((c) => c.machine.type = "x"), "w.yaml")
  ) as Error;
  assertEquals(
    err.message,
    'invalid machine config "w.yaml": 1 error occurred:\n\t* unknown machine type "x" (.machine.type)',
  );
});

// A hang guard, not a speed test (bench/ measures speed): a refusal that takes
// a minute means the parser went quadratic or worse, whatever the load.
const HOSTILE_INPUT_BUDGET_MS = 60_000;

Deno.test("parseMachineConfig() refuses hostile input without hanging", async (t) => {
  const cases: [string, string | Uint8Array, string][] = [
    ["huge", "a: " + "x".repeat(300 * 1024), "too large"],
    ["huge bytes", new Uint8Array(300 * 1024).fill(0x61), "too large"],
    ["deep flow", "a: " + "[".repeat(100000), "nested too deeply"],
    [
      "deep block",
      Array.from({ length: 40 }, (_, i) => " ".repeat(i) + "a:").join("\n"),
      "nested too deeply",
    ],
    [
      "non-UTF-8",
      new Uint8Array([0x61, 0x3a, 0x20, 0xff, 0xfe, 0x0a]),
      "not valid UTF-8",
    ],
    ["alias bomb", bomb(), "too many YAML aliases"],
    ["syntax", "a: [1, 2\nb: }", "invalid YAML"],
    ["compact nesting", "- ".repeat(50000) + "a", "nested too deeply"],
    [
      "many keys",
      Array.from({ length: 12000 }, (_, i) => `k${i}: 1`).join("\n"),
      'unknown key "k0" (.k0)',
    ],
    ["complex key", "? [a]\n: 1\n", "complex mapping keys"],
    [
      "binary tag",
      "version: !!binary aGVsbG8=\n",
      "unsupported config version",
    ],
  ];
  const times: string[] = [];
  for (const [name, input, want] of cases) {
    await t.step(name, () => {
      const t0 = performance.now();
      const err = assertThrows(() => parseMachineConfig(input));
      const ms = performance.now() - t0;
      assert(err instanceof ConfigValidationError, `${name}: ${err}`);
      assert(err.message.includes(want), `${name}: ${err.message}`);
      assert(
        ms < HOSTILE_INPUT_BUDGET_MS,
        `${name} took ${ms} ms, over the ${HOSTILE_INPUT_BUDGET_MS} ms hang guard`,
      );
      times.push(`${name} ${ms.toFixed(0)} ms`);
    });
  }
  console.log(`hostile inputs refused: ${times.join(", ")}`);
});

function bomb(): string {
  let s = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
  for (let i = 1; i < 10; i++) {
    const prev = String.fromCharCode(96 + i);
    const cur = String.fromCharCode(97 + i);
    s += `${cur}: &${cur} [${Array(9).fill("*" + prev).join(",")}]\n`;
  }
  return s;
}

/** Seeded PRNG so a failing fuzz case can be reproduced. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const JUNK: unknown[] = [
  null,
  0,
  -1,
  1.5,
  true,
  "",
  " ",
  "x",
  "10.0.0.1/99",
  "::::",
  "/dev/..",
  [],
  {},
  [1],
  { a: 1 },
  "a".repeat(300),
  "0.0.0.0/0",
  "fd00::/129",
];

/** Every path to a leaf or container inside a value. */
function paths(
  v: unknown,
  at: (string | number)[] = [],
): (string | number)[][] {
  const out = [at];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...at, i])));
  else if (v && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...at, k]));
  }
  return out;
}

Deno.test("validation survives random mutations and never passes an invalid config", () => {
  const rand = rng(0xb40e);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  let rejected = 0;
  let accepted = 0;
  const t0 = performance.now();
  for (let n = 0; n < 3000; n++) {
    const cfg = goodConfig() as unknown as Raw;
    const all = paths(cfg).filter((p) => p.length > 0);
    const target = pick(all);
    const parent = target.slice(0, -1).reduce((o: Raw, k) => o[k], cfg);
    const key = target[target.length - 1];
    const kind = Math.floor(rand() * 4);
    let mustFail = false;
    if (kind === 0) {
      // A value of a junk kind: may or may not stay valid (oracle below).
      parent[key] = structuredClone(pick(JUNK));
    } else if (kind === 1) {
      // An unknown key in some mapping: always invalid.
      const maps = all.map((p) => p.reduce((o: Raw, k) => o[k], cfg)).filter(
        (v) => v && typeof v === "object" && !Array.isArray(v),
      );
      pick(maps)[`zz${n}`] = 1;
      mustFail = true;
    } else if (kind === 2) {
      if (Array.isArray(parent)) parent.splice(Number(key), 1);
      else delete parent[key];
    } else {
      // Text-level damage: flip, cut or insert a character.
      const text = YAML.stringify(cfg);
      const i = Math.floor(rand() * text.length);
      const ch = pick([
        "",
        "\t",
        ":",
        "-",
        "[",
        "&a",
        "*a",
        "\u0000",
        "é",
        "'",
        "\n  ",
      ]);
      const damaged = text.slice(0, i) + ch +
        text.slice(i + (rand() < 0.5 ? 1 : 0));
      check(damaged, false);
      continue;
    }
    check(YAML.stringify(cfg), mustFail);
  }
  const ms = performance.now() - t0;
  console.log(
    `fuzz: ${accepted} accepted, ${rejected} rejected in ${ms.toFixed(0)} ms`,
  );
  assert(rejected > 1000, "the fuzz loop should mostly reject");

  function check(text: string, mustFail: boolean): void {
    let cfg: MachineConfig;
    try {
      cfg = parseMachineConfig(text);
    } catch (err) {
      if (!(err instanceof ConfigValidationError)) {
        throw new Error(`validator crashed on:\n${text}`, { cause: err });
      }
      assert(err.problems.length > 0);
      rejected++;
      return;
    }
    if (mustFail) throw new Error(`invalid config passed:\n${text}`);
    accepted++;
    // Oracle: what passes must satisfy the invariants an independent reader checks.
    assertEquals(validateMachineConfig(cfg), []);
    assert(/^[a-z0-9]{6}\.[a-z0-9]{16}$/.test(cfg.machine.token));
    assert(
      cfg.machine.type === "controlplane" || cfg.machine.type === "worker",
    );
    assertEquals(cfg.machine.type === "controlplane", !!cfg.machine.ca.key);
    for (const i of cfg.machine.network?.interfaces ?? []) {
      for (const a of i.addresses ?? []) assert(/\/\d+$/.test(a), a);
    }
    assertEquals(parseMachineConfig(stringifyMachineConfig(cfg)), cfg);
  }
});
