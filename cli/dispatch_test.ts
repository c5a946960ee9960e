import { assertEquals } from "../lib/testing/mod.ts";
import type { Command } from "./command.ts";
import { UsageError } from "./command.ts";
import { dispatch, findCommand, helpText } from "./dispatch.ts";
import { parseCommandArgs } from "./client/args.ts";
import { extractGlobalFlags } from "./global_flags.ts";

function cmd(name: string, run: Command["run"], aliases?: string[]): Command {
  return { name, summary: name, usage: `usage: ${name}`, run, aliases };
}

Deno.test("extractGlobalFlags() takes global flags from anywhere", () => {
  const { globals, rest } = extractGlobalFlags([
    "service",
    "-n",
    "10.0.0.1,10.0.0.2",
    "apid",
    "--endpoints=1.2.3.4",
    "-o",
    "json",
    "restart",
  ]);
  assertEquals(globals.nodes, ["10.0.0.1", "10.0.0.2"]);
  assertEquals(globals.endpoints, ["1.2.3.4"]);
  assertEquals(globals.output, "json");
  assertEquals(rest, ["service", "apid", "restart"]);
});

Deno.test("extractGlobalFlags() rejects a bad output format and a missing value", async (t) => {
  await t.step("bad format", () => {
    let msg = "";
    try {
      extractGlobalFlags(["-o", "xml"]);
    } catch (err) {
      msg = (err as Error).message;
    }
    assertEquals(msg, 'unknown output format "xml" (table, json, yaml)');
  });
  await t.step("missing value", () => {
    let msg = "";
    try {
      extractGlobalFlags(["version", "--nodes"]);
    } catch (err) {
      msg = (err as Error).message;
    }
    assertEquals(msg, "flag --nodes needs a value");
  });
});

Deno.test("dispatch() picks the longest matching command and maps errors to exit codes", async (t) => {
  const out: string[] = [];
  const err: string[] = [];
  const io = {
    stdout: (s: string) => void out.push(s),
    stderr: (s: string) => void err.push(s),
  };
  const signal = new AbortController().signal;
  const commands = [
    cmd("config", () => Promise.resolve(10)),
    cmd("config merge", (args) => Promise.resolve(args.length)),
    cmd("service", () => Promise.reject(new UsageError("bad id")), [
      "services",
    ]),
    cmd(
      "boom",
      () => Promise.reject(new Error("outer", { cause: new Error("inner") })),
    ),
  ];
  assertEquals(
    findCommand(commands, ["config", "merge", "a"])?.command.name,
    "config merge",
  );
  await t.step("longest match", async () => {
    assertEquals(
      await dispatch(commands, ["config", "merge", "x", "y"], { io, signal }),
      2,
    );
    assertEquals(await dispatch(commands, ["config"], { io, signal }), 10);
  });
  await t.step("usage error is exit 2 with usage", async () => {
    assertEquals(await dispatch(commands, ["services"], { io, signal }), 2);
    assertEquals(err.at(-1)?.includes("usage: service"), true);
  });
  await t.step("error chain is printed, exit 1", async () => {
    assertEquals(await dispatch(commands, ["boom"], { io, signal }), 1);
    assertEquals(err.at(-1), "osctl boom: outer: inner\n");
  });
  await t.step("unknown command is exit 2", async () => {
    assertEquals(await dispatch(commands, ["nope"], { io, signal }), 2);
  });
});

Deno.test("dispatch() leaves a command's local flags to it", async () => {
  let seen: string[] = [];
  let nodes: string[] = [];
  const c: Command = {
    name: "cluster create",
    summary: "",
    usage: "",
    localFlags: ["--nodes"],
    run: (args, ctx) => {
      seen = args;
      nodes = ctx.globals.nodes;
      return Promise.resolve(0);
    },
  };
  const io = { stdout: () => {}, stderr: () => {} };
  await dispatch([c], ["cluster", "--nodes", "3", "create", "-e", "x"], {
    io,
    signal: new AbortController().signal,
  });
  assertEquals(seen, ["--nodes", "3"]);
  assertEquals(nodes, []);
});

Deno.test("dispatch() lets a command own -o (gen config -o DIR)", async () => {
  let seen: string[] = [];
  const c: Command = {
    name: "gen config",
    summary: "",
    usage: "",
    localFlags: ["-o", "--output"],
    run: (args) => {
      seen = args;
      return Promise.resolve(0);
    },
  };
  const io = { stdout: () => {}, stderr: () => {} };
  const code = await dispatch([c], [
    "gen",
    "config",
    "x",
    "1.2.3.4",
    "-o",
    "/tmp/out",
  ], {
    io,
    signal: new AbortController().signal,
  });
  assertEquals(code, 0);
  assertEquals(seen, ["x", "1.2.3.4", "-o", "/tmp/out"]);
});

Deno.test("dispatch() suggests the nearest command and lists a group's commands", async (t) => {
  let out = "";
  let err = "";
  const io = {
    stdout: (s: string) => void (out += s),
    stderr: (s: string) => void (err += s),
  };
  const signal = new AbortController().signal;
  const ok = () => Promise.resolve(0);
  const commands = [
    cmd("version", ok),
    cmd("processes", ok, ["ps"]),
    cmd("config info", ok),
    cmd("config context", ok),
    cmd("config contexts", ok),
  ];
  await t.step("a typo of a command", async () => {
    assertEquals(await dispatch(commands, ["versoin"], { io, signal }), 2);
    assertEquals(
      err,
      'osctl: unknown command "versoin"; did you mean "version"?\n' +
        'Run "osctl help" for the list of commands.\n',
    );
  });
  await t.step("a typo of a subcommand", async () => {
    err = "";
    assertEquals(
      await dispatch(commands, ["config", "contxt"], { io, signal }),
      2,
    );
    assertEquals(
      err.split("\n")[0],
      'osctl: unknown command "config contxt"; did you mean "config context"?',
    );
  });
  await t.step("nothing near: no suggestion", async () => {
    err = "";
    assertEquals(await dispatch(commands, ["zzzzzz"], { io, signal }), 2);
    assertEquals(err.split("\n")[0], 'osctl: unknown command "zzzzzz"');
  });
  await t.step("a group word alone lists its commands", async () => {
    out = "";
    assertEquals(await dispatch(commands, ["config"], { io, signal }), 0);
    assertEquals(out.includes("config info"), true, out);
    assertEquals(out.includes("config contexts"), true, out);
    assertEquals(out.includes("version"), false, out);
  });
  await t.step("an unknown flag names the nearest one", async () => {
    err = "";
    const c: Command = {
      name: "logs",
      summary: "",
      usage: "usage: logs",
      run: (args) => {
        parseCommandArgs(args, {
          follow: { type: "boolean", short: "f" },
          tail: { type: "string" },
        });
        return Promise.resolve(0);
      },
    };
    assertEquals(await dispatch([c], ["logs", "--folow"], { io, signal }), 2);
    assertEquals(
      err.split("\n")[0],
      "osctl logs: unknown flag --folow; did you mean --follow?",
    );
    err = "";
    assertEquals(await dispatch([c], ["logs", "--tail"], { io, signal }), 2);
    assertEquals(err.split("\n")[0], "osctl logs: flag --tail needs a value");
  });
});

Deno.test("helpText() groups commands as talosctl's help does", () => {
  const ok = () => Promise.resolve(0);
  const text = helpText([
    cmd("version", ok),
    cmd("gen config", ok),
    cmd("cluster create", ok),
    cmd("config info", ok),
  ]);
  const at = (s: string) => text.indexOf(s);
  assertEquals(at("Manage running clusters:") < at("version"), true);
  assertEquals(at("config info") < at("Generate and manage"), true);
  assertEquals(at("Generate and manage") < at("gen config"), true);
  assertEquals(at("Local cluster commands:") < at("cluster create"), true);
});

Deno.test("dispatch() names a mistyped global flag before the command", async () => {
  let err = "";
  const io = { stdout: () => {}, stderr: (s: string) => void (err += s) };
  const ok = () => Promise.resolve(0);
  const code = await dispatch([cmd("version", ok)], [
    "--node",
    "10.5.0.2",
    "version",
  ], { io, signal: new AbortController().signal });
  assertEquals(code, 2);
  assertEquals(
    err.split("\n")[0],
    "osctl: unknown flag --node; did you mean --nodes?",
  );
});
