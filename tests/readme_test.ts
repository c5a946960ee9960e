/**
 * README.md works as written from a fresh clone: every command it shows runs
 * a file of the repository (./osctl, ./scripts/..., never a bare `deno` that
 * the bootstrap does not put on PATH), every osctl command it names exists,
 * and nothing it points to lies outside the repository.
 */
import { fileURLToPath } from "node:url";
import { COMMANDS } from "../cli/commands/mod.ts";
import { findCommand } from "../cli/dispatch.ts";
import { extractGlobalFlags } from "../cli/global_flags.ts";
import { assert, assertEquals } from "../lib/testing/mod.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const README = await Deno.readTextFile(`${ROOT}README.md`);
/** README without its Layout section, whose code block is a folder map. */
const COMMAND_TEXT = README.replace(/\n## Layout\n[\s\S]*?(?=\n## |$)/, "\n");

/** The indented (4-space) code lines, continuation lines joined. */
function codeLines(text: string): string[] {
  const lines: string[] = [];
  let joined = "";
  for (const line of text.split("\n")) {
    if (!line.startsWith("    ") || line.trim() === "") continue;
    joined += line.trim();
    if (joined.endsWith("\\")) {
      joined = joined.slice(0, -1) + " ";
      continue;
    }
    lines.push(joined.replace(/\s+#.*$/, ""));
    joined = "";
  }
  return lines;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(`${ROOT}${path}`);
    return true;
  } catch {
    return false;
  }
}

Deno.test("README's commands run files of the repository", () => {
  const lines = codeLines(COMMAND_TEXT);
  assert(lines.length > 10, `${lines.length} command lines`);
  for (const line of lines) {
    const program = line.split(/\s+/)[0];
    assert(
      program.startsWith("./") && exists(program),
      `README command "${line}" does not start with a file of the repository`,
    );
  }
});

Deno.test("README's osctl commands and benchmarks exist", () => {
  const shown = [
    ...codeLines(COMMAND_TEXT),
    ...[...README.matchAll(/`(\.\/osctl [^`]+)`/g)].map((m) => m[1]),
  ];
  let osctl = 0;
  for (const line of shown) {
    const words = line.split(/\s+/);
    if (words[0] === "./osctl") {
      osctl++;
      const { rest } = extractGlobalFlags(words.slice(1), [], {
        lenient: true,
      });
      // Placeholders (COMMAND) and help stand for any command.
      if (["help", "--help"].includes(rest[0]) || /^[A-Z]+$/.test(rest[0])) {
        continue;
      }
      assert(
        findCommand(COMMANDS, rest) ||
          COMMANDS.some((c) => c.name.startsWith(`${rest[0]} `)),
        `README names an unknown osctl command: "${line}"`,
      );
    }
    if (words[0] === "./scripts/bench" && words[1]) {
      assert(exists(`bench/${words[1]}_bench.ts`), line);
    }
  }
  assert(osctl > 5, `${osctl} osctl commands`);
});

Deno.test("README points at nothing outside the repository", () => {
  assertEquals([...README.matchAll(/\.\.\/[\w./-]+/g)].map((m) => m[0]), []);
  for (const m of README.matchAll(/\]\(([^)]+)\)/g)) {
    assert(exists(m[1]), `README links to "${m[1]}", not in the repository`);
  }
  for (
    const m of README.matchAll(
      /`((?:services|lib|cli|image|bench|scripts|tests|proto)\/[\w./-]*)`/g,
    )
  ) {
    // A placeholder (<daemon>, NAME) names a folder of such files.
    const path = m[1].replace(/(<[^>]+>|[A-Z]{2,}).*$/, "");
    assert(exists(path), `README names "${m[1]}", not in the repository`);
  }
});

Deno.test("scripts/deno and scripts/bench need no Deno on PATH", async () => {
  const run = async (args: string[]) => {
    const out = await new Deno.Command(`${ROOT}${args[0]}`, {
      args: args.slice(1),
      env: { PATH: "/usr/bin:/bin", NO_COLOR: "1" },
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    return {
      code: out.code,
      stdout: dec.decode(out.stdout),
      stderr: dec.decode(out.stderr),
    };
  };
  const v = await run([
    "scripts/deno",
    "eval",
    "console.log(Deno.version.deno)",
  ]);
  assertEquals(v.code, 0, v.stderr);
  assertEquals(v.stdout.trim(), Deno.version.deno);
  const bad = await run(["scripts/bench", "nope"]);
  assertEquals(bad.code, 2);
  assert(bad.stderr.includes('no benchmark "nope"'), bad.stderr);
  assert(bad.stderr.includes("apid"), bad.stderr);
  const help = await run(["scripts/image", "--help"]);
  assertEquals(help.code, 0, help.stderr);
  assert(help.stdout.includes("--out DIR"), help.stdout);
});
