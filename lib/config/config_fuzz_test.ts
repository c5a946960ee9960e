/**
 * Fuzz of the config validator, the YAML reader and the patch code: random
 * mutations of a valid config's tree and text, random strategic merge and
 * JSON patches. Nothing crashes (every refusal is a ConfigValidationError or
 * a PatchError), every problem of a tree names its path, and a config that
 * is accepted survives a round trip through its YAML. Seeded: the seed is
 * printed, BRONZE_FUZZ_SEED reproduces a run.
 */
import { goodConfig } from "./_fixtures_test.ts";
import {
  applyConfigPatches,
  type ConfigPatch,
  ConfigValidationError,
  loadConfigPatch,
  machineConfigFromDocuments,
  parseMachineConfig,
  PatchError,
  stringifyMachineConfig,
  stringifyYaml,
  validateMachineConfig,
} from "./mod.ts";
import {
  assert,
  assertEquals,
  FUZZ_SEED_ENV,
  fuzzSeed,
  Rng,
} from "../testing/mod.ts";

const CASES = Number(Deno.env.get("BRONZE_FUZZ_CONFIG_CASES") ?? "1000");

type Tree = unknown;
type Path = Array<string | number>;

/** Every path to a value inside `tree` (not the root). */
function paths(tree: Tree, at: Path = [], out: Path[] = []): Path[] {
  if (Array.isArray(tree)) {
    tree.forEach((v, i) => {
      out.push([...at, i]);
      paths(v, [...at, i], out);
    });
  } else if (tree !== null && typeof tree === "object") {
    for (const [k, v] of Object.entries(tree)) {
      out.push([...at, k]);
      paths(v, [...at, k], out);
    }
  }
  return out;
}

function randomValue(rng: Rng, depth = 0): unknown {
  switch (rng.int(depth > 2 ? 8 : 11)) {
    case 0:
      return null;
    case 1:
      return rng.pick([
        0,
        -1,
        1,
        65535,
        65536,
        2 ** 53,
        -(2 ** 31),
        1.5,
        1e308,
      ]);
    case 2:
      return rng.chance(0.5);
    case 3:
      return "";
    case 4:
      return rng.string(1 + rng.int(20), "abc019./:-_ \t\u00e9\ufeff");
    case 5:
      return rng.pick([
        "10.0.0.1/33",
        "300.1.1.1",
        "0x10",
        "::",
        "fe80::1%eth0",
        "https://",
        "https://[::1]:6443",
        "controlplane",
        "worker",
        "v1alpha1",
        "abc123.0123456789abcdef",
        "LS0tLS1CRUdJTg==",
        "-----BEGIN",
      ]);
    case 6:
      return rng.string(300 + rng.int(3000), "ab");
    case 7:
      return rng.int(100000) - 50000;
    case 8:
      return [];
    case 9:
      return Array.from(
        { length: 1 + rng.int(3) },
        () => randomValue(rng, depth + 1),
      );
    default: {
      const o: Record<string, unknown> = {};
      for (let i = rng.int(3); i >= 0; i--) {
        o[
          rng.pick(["name", "crt", "key", "x", "__proto__", "constructor", "0"])
        ] = randomValue(
          rng,
          depth + 1,
        );
      }
      return o;
    }
  }
}

function parentOf(tree: Tree, path: Path): Record<string | number, unknown> {
  let node = tree as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) {
    node = node[k] as Record<string | number, unknown>;
  }
  return node;
}

/** One random change to a copy of `tree`. */
function mutate(rng: Rng, tree: Tree): Tree {
  const copy = structuredClone(tree);
  const all = paths(copy);
  const path = rng.pick(all);
  const parent = parentOf(copy, path);
  const key = path[path.length - 1];
  switch (rng.int(4)) {
    case 0:
      parent[key] = randomValue(rng);
      break;
    case 1:
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key];
      break;
    case 2:
      if (Array.isArray(parent)) parent.push(structuredClone(parent[key]));
      else parent[`${String(key)}X`] = randomValue(rng);
      break;
    default:
      // the same value, another type
      parent[key] = typeof parent[key] === "string"
        ? [parent[key]]
        : String(parent[key]);
  }
  return copy;
}

function crashOf(err: unknown): string | undefined {
  if (err instanceof ConfigValidationError || err instanceof PatchError) {
    return undefined;
  }
  return `${(err as Error)?.name}: ${(err as Error)?.message}\n${
    (err as Error)?.stack
  }`;
}

Deno.test("config fuzz: validator, YAML reader and patches never crash and name paths", async (t) => {
  const seed = fuzzSeed();
  console.log(
    `config fuzz seed ${seed} (${FUZZ_SEED_ENV}=${seed} reproduces this run)`,
  );
  const base = goodConfig() as unknown as Tree;
  assertEquals(validateMachineConfig(base), []);

  await t.step(`tree mutations (${CASES})`, () => {
    const rng = new Rng(seed);
    const failures: string[] = [];
    let refused = 0;
    for (let i = 0; i < CASES; i++) {
      let tree = base;
      for (let m = 1 + rng.int(3); m > 0; m--) tree = mutate(rng, tree);
      let problems;
      try {
        problems = validateMachineConfig(tree);
      } catch (err) {
        failures.push(
          `case ${i}: validate threw ${crashOf(err)}: ${
            JSON.stringify(tree).slice(0, 400)
          }`,
        );
        continue;
      }
      for (const p of problems) {
        if (!p.path.startsWith(".") || p.message === "") {
          failures.push(
            `case ${i}: problem without a path: ${JSON.stringify(p)}`,
          );
        }
      }
      if (problems.length > 0) {
        refused++;
        continue;
      }
      // Accepted: it must survive its own YAML.
      try {
        const cfg = parseMachineConfig(stringifyYaml(tree), "fuzz");
        parseMachineConfig(stringifyMachineConfig(cfg), "fuzz round trip");
      } catch (err) {
        failures.push(
          `case ${i}: accepted tree fails its round trip: ${
            (err as Error).message.slice(0, 400)
          }`,
        );
      }
    }
    assertEquals(failures.slice(0, 10).join("\n"), "", `seed ${seed}`);
    assert(
      refused > CASES / 4,
      `only ${refused} of ${CASES} mutations refused`,
    );
  });

  await t.step(`YAML text mutations (${CASES})`, () => {
    const rng = new Rng(seed ^ 0x7e47);
    const text = stringifyMachineConfig(goodConfig());
    const failures: string[] = [];
    const junk = [
      ":",
      "- ",
      "{",
      "}",
      "[",
      "]",
      "&a ",
      "*a",
      "!!binary ",
      "---\n",
      "\t",
      "'",
      '"',
      "#",
      "\u0000",
      "\ufeff",
      "? ",
      "|",
      ">",
      "<<: *a\n",
      "%YAML 1.1\n",
    ];
    for (let i = 0; i < CASES; i++) {
      let s = text;
      for (let m = 1 + rng.int(4); m > 0; m--) {
        const at = rng.int(s.length);
        switch (rng.int(3)) {
          case 0:
            s = s.slice(0, at) + rng.pick(junk) + s.slice(at);
            break;
          case 1:
            s = s.slice(0, at) + s.slice(at + 1 + rng.int(20));
            break;
          default:
            s = s.slice(0, at);
        }
      }
      try {
        parseMachineConfig(s, "fuzz.yaml");
      } catch (err) {
        const crash = crashOf(err);
        if (crash) {
          failures.push(
            `case ${i}: ${crash.slice(0, 400)} for ${
              JSON.stringify(s.slice(0, 200))
            }`,
          );
        } else if (!(err as Error).message.includes("fuzz.yaml")) {
          failures.push(
            `case ${i}: refusal does not name its source: ${
              (err as Error).message.slice(0, 200)
            }`,
          );
        }
      }
    }
    assertEquals(failures.slice(0, 10).join("\n"), "", `seed ${seed}`);
  });

  await t.step(`random patches (${CASES})`, () => {
    const rng = new Rng(seed ^ 0x9a7c);
    const failures: string[] = [];
    const pointers = paths(base).map((p) => "/" + p.join("/"));
    for (let i = 0; i < CASES; i++) {
      let patchText: string;
      if (rng.chance(0.5)) {
        const ops = Array.from({ length: 1 + rng.int(3) }, () => {
          const op: Record<string, unknown> = {
            op: rng.pick([
              "add",
              "remove",
              "replace",
              "move",
              "copy",
              "test",
              "nope",
              "",
            ]),
            path: rng.chance(0.8)
              ? rng.pick(pointers) +
                (rng.chance(0.2)
                  ? rng.pick(["/-", "/0", "/x", "~", "~2", "/~1"])
                  : "")
              : rng.pick([
                "",
                "/",
                "x",
                "//",
                "/machine/~",
                "/machine/network/interfaces/99",
                "/-",
              ]),
          };
          if (rng.chance(0.8)) op.value = randomValue(rng);
          if (rng.chance(0.3)) op.from = rng.pick(pointers);
          if (rng.chance(0.1)) {
            op.document = rng.pick(["v1alpha1", "Foo/bar", "", "/"]);
          }
          return op;
        });
        patchText = rng.chance(0.5) ? JSON.stringify(ops) : stringifyYaml(ops);
      } else {
        // A strategic merge: the config's shape with random leaves.
        const doc = mutate(rng, mutate(rng, base));
        const keep = rng.pick(paths(doc));
        const partial: Record<string, unknown> = {};
        let node: Record<string | number, unknown> = partial;
        let src = doc as Record<string | number, unknown>;
        for (const [j, k] of keep.entries()) {
          const v = src[k];
          if (j === keep.length - 1 || v === null || typeof v !== "object") {
            node[k] = v;
            break;
          }
          node[k] = Array.isArray(v) ? [] : {};
          node = node[k] as Record<string | number, unknown>;
          src = v as Record<string | number, unknown>;
        }
        patchText = stringifyYaml(partial);
      }
      let patch: ConfigPatch;
      try {
        patch = loadConfigPatch(patchText, "fuzz-patch");
      } catch (err) {
        const crash = crashOf(err);
        if (crash) {
          failures.push(
            `case ${i}: load ${crash.slice(0, 300)} for ${
              patchText.slice(0, 200)
            }`,
          );
        }
        continue;
      }
      try {
        const docs = applyConfigPatches([structuredClone(base)], [patch]);
        machineConfigFromDocuments(docs, "patched");
      } catch (err) {
        const crash = crashOf(err);
        if (crash) {
          failures.push(
            `case ${i}: apply ${crash.slice(0, 300)} for ${
              patchText.slice(0, 200)
            }`,
          );
        } else if (
          err instanceof PatchError && patch.type === "json" &&
          err.path === "" && !/document|operation \d+/.test(err.message)
        ) {
          failures.push(
            `case ${i}: JSON patch refusal without a path: ${err.message} for ${
              patchText.slice(0, 200)
            }`,
          );
        } else if (err instanceof ConfigValidationError) {
          for (const p of err.problems) {
            if (
              !p.path.startsWith(".") &&
              !p.message.includes("one v1alpha1 document")
            ) {
              failures.push(
                `case ${i}: problem without a path: ${JSON.stringify(p)}`,
              );
            }
          }
        }
      }
    }
    assertEquals(failures.slice(0, 10).join("\n"), "", `seed ${seed}`);
  });
});
