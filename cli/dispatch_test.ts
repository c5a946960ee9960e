import { assertEquals } from "../lib/testing/mod.ts";
import type { Command } from "./command.ts";
import { UsageError } from "./command.ts";
import { dispatch, findCommand } from "./dispatch.ts";
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
