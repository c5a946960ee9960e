import { assertEquals } from "../testing/mod.ts";
import { createLogger, errorText, type LogSink } from "./mod.ts";

Deno.test("errorText() joins causes and skips words already quoted", () => {
  const inner = new Error("connect ECONNREFUSED 127.0.0.1:4222");
  const mid = new Error("Cannot connect to the bus", { cause: inner });
  assertEquals(
    errorText(new Error("Cannot start apid", { cause: mid })),
    "Cannot start apid: Cannot connect to the bus: connect ECONNREFUSED 127.0.0.1:4222",
  );
  const quoted = new Error("no responders: 'apid.health'");
  assertEquals(
    errorText(
      new Error(`no responders for "apid.health": ${quoted.message}`, {
        cause: quoted,
      }),
    ),
    `no responders for "apid.health": no responders: 'apid.health'`,
  );
});

Deno.test("Logger writes JSON lines with component, level filter and child fields", () => {
  const lines: string[] = [];
  const sink: LogSink = { write: (l) => void lines.push(l) };
  const log = createLogger("apid", { sink, level: "info" });
  log.debug("hidden");
  log.child({ peer: "10.0.0.1" }).warn("refused", {
    error: new Error("bad cert"),
  });
  assertEquals(lines.length, 1);
  const rec = JSON.parse(lines[0]);
  assertEquals([rec.level, rec.msg, rec.component, rec.peer, rec.error], [
    "warn",
    "refused",
    "apid",
    "10.0.0.1",
    "bad cert",
  ]);
});

Deno.test("Logger.setLevel() reaches every child, at once", () => {
  const lines: string[] = [];
  const log = createLogger("machined", {
    sink: { write: (l) => void lines.push(l) },
    level: "info",
  });
  const child = log.child({ task: "x" });
  child.debug("hidden");
  log.setLevel("debug");
  child.debug("shown");
  assertEquals(child.level, "debug");
  log.setLevel("error");
  child.warn("hidden too");
  assertEquals(lines.map((l) => JSON.parse(l).msg), ["shown"]);
});
