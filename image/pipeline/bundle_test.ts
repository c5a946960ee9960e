import { bundle, countUsingDeclarations, REQUIRE_BANNER } from "./bundle.ts";
import {
  assert,
  assertEquals,
  assertIncludes,
  assertRejects,
  tempDir,
} from "../../lib/testing/mod.ts";

Deno.test("countUsingDeclarations() counts the bindings of using declarations", () => {
  assertEquals(
    countUsingDeclarations(
      "using a = f(); await using b=g(); const usingX = 1; // using",
    ),
    2,
  );
  assertEquals(
    countUsingDeclarations('{using x=en.open(),w=dn.open(x,[1,2],"a,b");x()}'),
    2,
  );
  assertEquals(countUsingDeclarations("using a = f(1, 2);\nusing b = g;"), 2);
  // Prose and regular expressions that say "using" declare nothing.
  assertEquals(
    countUsingDeclarations(
      '// using a Babel-\nx.match(/using queue "(\\S+)"/)',
    ),
    0,
  );
});

Deno.test("bundle() refuses a bundle whose minifying lost a `using`", async (t) => {
  await using dir = await tempDir();
  const deno = Deno.execPath();
  await t.step("a disposal that survives minifying bundles fine", async () => {
    await Deno.writeTextFile(
      `${dir.path}/ok.ts`,
      `async function f(): Promise<void> {
  let closed = 0;
  {
    using a = { [Symbol.dispose]() { closed++; }, n: 1 };
    await Promise.resolve(a.n);
    console.log(a.n);
  }
  console.log(closed);
}
await f();
`,
    );
    await bundle("ok.ts", `${dir.path}/ok.js`, { deno, cwd: dir.path });
    const code = await Deno.readTextFile(`${dir.path}/ok.js`);
    assert(code.startsWith(REQUIRE_BANNER), "the require shim comes first");
    const out = await new Deno.Command(deno, {
      args: ["run", "--no-config", `${dir.path}/ok.js`],
      stdout: "piped",
      stderr: "null",
    }).output();
    assertEquals(new TextDecoder().decode(out.stdout), "1\n1\n");
  });
  await t.step("a single-use `using` inlined away is an error", async () => {
    await Deno.writeTextFile(
      `${dir.path}/bad.ts`,
      `async function save(): Promise<void> {
  using f = await Promise.resolve({ [Symbol.dispose]() {}, sync() {} });
  f.sync();
  await Promise.resolve();
}
await save();
`,
    );
    const err = await assertRejects(() =>
      bundle("bad.ts", `${dir.path}/bad.js`, {
        deno,
        cwd: dir.path,
        nodeRequire: false,
      })
    );
    assertIncludes(String(err), "minifying dropped 1 of 1 `using`");
  });
});

Deno.test("REQUIRE_BANNER hands esbuild's require shim Node built-ins on first use", async (t) => {
  await using dir = await tempDir();
  // esbuild's shim for the require() calls of CommonJS npm packages, as it
  // appears in the minified daemon bundles.
  const shim = `var req=(t=>typeof require<"u"?require:typeof Proxy<"u"?` +
    `new Proxy(t,{get:(e,r)=>(typeof require<"u"?require:e)[r]}):t)` +
    `(function(t){if(typeof require<"u")return require.apply(this,arguments);` +
    `throw Error('Dynamic require of "'+t+'" is not supported')});`;
  await Deno.writeTextFile(
    `${dir.path}/main.js`,
    REQUIRE_BANNER + shim +
      `console.log(req("node:path").join("a", "b"));` +
      `try { req("left-pad"); } catch (e) { console.log(e.message); }`,
  );
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-config", "--no-prompt", `${dir.path}/main.js`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");

  await t.step("a built-in comes through", () => {
    assertEquals(lines[0], "a/b");
  });
  await t.step("anything else is refused by name", () => {
    assertIncludes(lines[1] ?? "", 'Cannot find module "left-pad"');
  });
  await t.step("nothing of Node's is imported at load", () => {
    assert(!/\bimport\b/.test(REQUIRE_BANNER));
  });
});

Deno.test("bundle() with code splitting writes dynamically imported code beside the entry", async (t) => {
  await using dir = await tempDir();
  const deno = Deno.execPath();
  await Deno.writeTextFile(
    `${dir.path}/lazy.ts`,
    `export function greet(): string { return "from the chunk"; }\n`,
  );
  await Deno.writeTextFile(
    `${dir.path}/a.ts`,
    `const { greet } = await import("./lazy.ts");\nconsole.log(greet());\n`,
  );
  await Deno.writeTextFile(
    `${dir.path}/b.ts`,
    `const { greet } = await import("./lazy.ts");\nconsole.log(greet(), 2);\n`,
  );
  await Deno.mkdir(`${dir.path}/out`);
  const a = await bundle("a.ts", `${dir.path}/out/a.js`, {
    deno,
    cwd: dir.path,
    codeSplitting: true,
  });
  await t.step("the lazy module is a file of its own", async () => {
    assertEquals(a.length, 1);
    const entry = await Deno.readTextFile(`${dir.path}/out/a.js`);
    assert(!entry.includes("from the chunk"), "not inlined in the entry");
    const chunk = await Deno.readTextFile(`${dir.path}/out/${a[0]}`);
    assert(chunk.startsWith(REQUIRE_BANNER), "the chunk has the require shim");
  });
  await t.step("the entry runs and reaches it", async () => {
    const out = await new Deno.Command(deno, {
      args: ["run", "--no-config", `${dir.path}/out/a.js`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(new TextDecoder().decode(out.stdout), "from the chunk\n");
  });
  await t.step("a second program shares the identical chunk", async () => {
    const b = await bundle("b.ts", `${dir.path}/out/b.js`, {
      deno,
      cwd: dir.path,
      codeSplitting: true,
    });
    assertEquals(b, a);
  });
  await t.step("a different chunk under the same name is refused", async () => {
    await Deno.writeTextFile(`${dir.path}/out/${a[0]}`, "// changed\n");
    const err = await assertRejects(() =>
      bundle("a.ts", `${dir.path}/out/a.js`, {
        deno,
        cwd: dir.path,
        codeSplitting: true,
      })
    );
    assertIncludes(String(err), `two programs made different ${a[0]}`);
  });
});
