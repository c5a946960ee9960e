import { assertEquals } from "../testing/mod.ts";
import { NATS_CORE_VERSION } from "./_deno_transport.ts";

const INTERNAL = "@nats-io/nats-core/internal";
const ROOT = new URL("../../", import.meta.url);

/** The package.json of the nats-core that `specifier` resolves to. */
async function resolvedPackage(
  specifier: string,
): Promise<{ name: string; version: string; path: string }> {
  let dir = new URL(".", import.meta.resolve(specifier));
  while (dir.pathname !== "/") {
    const path = new URL("package.json", dir);
    try {
      const pkg = JSON.parse(await Deno.readTextFile(path));
      if (pkg.name === "@nats-io/nats-core") {
        return { name: pkg.name, version: pkg.version, path: path.pathname };
      }
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    dir = new URL("../", dir);
  }
  throw new Error(`No nats-core package.json above "${specifier}"`);
}

/** TypeScript files of the tree that import `specifier`, relative to the root. */
async function importersOf(specifier: string): Promise<string[]> {
  const skip = new Set(["node_modules", "build", "cache", "gen", ".tools"]);
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for await (const e of Deno.readDir(new URL(rel, ROOT))) {
      const child = `${rel}${e.name}`;
      if (e.isDirectory && !skip.has(e.name)) await walk(`${child}/`);
      else if (e.isFile && e.name.endsWith(".ts")) {
        const text = await Deno.readTextFile(new URL(child, ROOT));
        if (text.includes(`from "${specifier}"`)) out.push(child);
      }
    }
  };
  for (
    const top of ["lib/", "services/", "cli/", "tests/", "bench/", "image/"]
  ) {
    await walk(top);
  }
  return out.sort();
}

Deno.test("the Deno TCP transport runs on the nats-core it was written against", async (t) => {
  await t.step("the resolved nats-core is NATS_CORE_VERSION", async () => {
    const pkg = await resolvedPackage(INTERNAL);
    assertEquals(
      pkg.version,
      NATS_CORE_VERSION,
      `${INTERNAL} resolves to ${pkg.version} (${pkg.path}), but ` +
        `lib/bus/_deno_transport.ts was written against ` +
        `${NATS_CORE_VERSION}: re-read its use of the private entry point ` +
        `against the new release, then bump NATS_CORE_VERSION`,
    );
  });
  await t.step("the public entry point is the same package", async () => {
    const pub = await resolvedPackage("@nats-io/nats-core");
    assertEquals(pub.version, NATS_CORE_VERSION);
  });
  await t.step(
    "only _deno_transport.ts imports the private entry point",
    async () => {
      const files = await importersOf(INTERNAL);
      assertEquals(files, ["lib/bus/_deno_transport.ts"]);
    },
  );
});
