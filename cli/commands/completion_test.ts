import { fileURLToPath } from "node:url";
import {
  mintClientConfig,
  saveClientConfig,
} from "../../lib/clientconfig/mod.ts";
import { CertificateAuthority } from "../../lib/pki/mod.ts";
import { assert, assertEquals, tempDir } from "../../lib/testing/mod.ts";
import { completionScript, usageFlags } from "./completion.ts";
import { COMMANDS } from "./mod.ts";

function has(cmd: string): boolean {
  try {
    return new Deno.Command(cmd, {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    })
      .outputSync().success;
  } catch {
    return false;
  }
}

async function sh(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<string> {
  const out = await new Deno.Command(cmd, {
    args,
    stdout: "piped",
    stderr: "piped",
    env: { HOME: "/nonexistent", XDG_CONFIG_HOME: "/nonexistent", ...env },
  }).output();
  const dec = new TextDecoder();
  assert(out.success, `${cmd} failed: ${dec.decode(out.stderr)}`);
  return dec.decode(out.stdout);
}

Deno.test("usageFlags() reads the long flags of a usage text", () => {
  assertEquals(
    usageFlags("Usage: x [-f] [--tail N]\n  -f, --follow  keep\n  --help"),
    ["--follow", "--tail"],
  );
});

Deno.test("completion bash completes commands, subcommands, flags and -o", async () => {
  await using dir = await tempDir();
  const script = `${dir.path}/osctl.bash`;
  await Deno.writeTextFile(script, completionScript("bash", COMMANDS));
  const probe = `source ${script}
comp() { COMP_WORDS=("$@"); COMP_CWORD=$((\${#COMP_WORDS[@]}-1)); _osctl; echo "\${COMPREPLY[*]}"; }
comp osctl mem
comp osctl -n 10.5.0.2 config re
comp osctl config ""
comp osctl ps --wa
comp osctl -o ""
comp osctl gen c
`;
  const lines = (await sh("bash", ["-c", probe])).split("\n");
  assertEquals(lines[0], "memory");
  assertEquals(lines[1], "remove");
  for (const sub of ["add", "remove", "context", "contexts", "info"]) {
    assert(lines[2].split(" ").includes(sub), lines[2]);
  }
  assertEquals(lines[3], "--watch");
  assertEquals(lines[4], "table json yaml");
  assertEquals(lines[5].split(" ").sort(), ["ca", "config", "crt", "csr"]);
});

Deno.test({
  name: "completion zsh offers the same words through zsh's own functions",
  ignore: !has("zsh"),
  async fn() {
    await using dir = await tempDir();
    const script = `${dir.path}/_osctl`;
    await Deno.writeTextFile(script, completionScript("zsh", COMMANDS));
    // compadd and _describe stand in for the widget's: they print what
    // the completion function hands them.
    const probe = `compdef() {}; source ${script}
compadd() { shift; print -r -- "$*"; }
_describe() { print -r -- "\${(@)\${(P)4}%%:*}"; }
_default() { print default; }
words=(osctl config ""); CURRENT=3; PREFIX=""; _osctl
words=(osctl -e 10.5.0.2 ps --w); CURRENT=5; PREFIX=--w; _osctl
words=(osctl -o ""); CURRENT=3; PREFIX=""; _osctl
`;
    await sh("zsh", ["-n", script]);
    const lines = (await sh("zsh", ["-f", "-c", probe])).split("\n");
    for (const sub of ["add", "remove", "context", "info"]) {
      assert(lines[0].split(" ").includes(sub), lines[0]);
    }
    assert(lines[1].split(" ").includes("--watch"), lines[1]);
    assertEquals(lines[2], "table json yaml");
  },
});

Deno.test({
  name: "completion fish answers complete -C",
  ignore: !has("fish"),
  async fn() {
    await using dir = await tempDir();
    const script = `${dir.path}/osctl.fish`;
    await Deno.writeTextFile(script, completionScript("fish", COMMANDS));
    const words = async (line: string) =>
      (await sh("fish", [
        "--no-config",
        "-c",
        `source ${script}; complete -C ${JSON.stringify(line)}`,
      ])).split("\n").filter(Boolean).map((l) => l.split("\t")[0]);
    assertEquals(await words("osctl mem"), ["memory"]);
    const config = await words("osctl -n 10.5.0.2 config ");
    for (const sub of ["add", "remove", "context", "info"]) {
      assert(config.includes(sub), config.join(" "));
    }
    assert((await words("osctl ps --")).includes("--watch"));
    assertEquals((await words("osctl -o ")).sort(), ["json", "table", "yaml"]);
  },
});

Deno.test("completion of --context and config context|remove asks osctl for the names", async () => {
  await using dir = await tempDir();
  const osconfig = `${dir.path}/osconfig`;
  const ca = await CertificateAuthority.create();
  const a = await mintClientConfig(ca, { contextName: "prod" });
  const b = await mintClientConfig(ca, { contextName: "staging" });
  await saveClientConfig(osconfig, {
    context: "prod",
    contexts: { ...a.contexts, ...b.contexts },
  });
  const osctl = fileURLToPath(new URL("../../osctl", import.meta.url));
  const env = { OSCONFIG: osconfig };
  const bash = `${dir.path}/osctl.bash`;
  await Deno.writeTextFile(bash, completionScript("bash", COMMANDS));
  const probe = `source ${bash}
comp() { COMP_WORDS=("$@"); COMP_CWORD=$((\${#COMP_WORDS[@]}-1)); _osctl; echo "\${COMPREPLY[*]}"; }
comp ${osctl} --context ""
comp ${osctl} config remove st
`;
  assertEquals((await sh("bash", ["-c", probe], env)).split("\n").slice(0, 2), [
    "prod staging",
    "staging",
  ]);
  if (has("fish")) {
    const fish = `${dir.path}/osctl.fish`;
    await Deno.writeTextFile(fish, completionScript("fish", COMMANDS));
    const out = await sh("fish", [
      "--no-config",
      "-c",
      `source ${fish}; complete -C "${osctl} config context "`,
    ], env);
    assertEquals(out.trim().split("\n").sort(), ["prod", "staging"]);
  }
});
