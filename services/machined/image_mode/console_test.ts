import { assertEquals } from "../../../lib/testing/mod.ts";
import { consoleLine, consoleSink } from "./console.ts";

Deno.test("consoleLine() shows service changes, steps, warnings and errors", () => {
  const j = (o: Record<string, unknown>) => JSON.stringify(o);
  assertEquals(
    consoleLine(j({
      level: "info",
      msg: "service",
      service: "apid",
      state: "Running",
      message: "Health check successful",
    })),
    "service apid: Running (Health check successful)",
  );
  assertEquals(
    consoleLine(j({
      level: "info",
      msg: "sequence",
      sequence: "boot",
      state: "stop",
      message: "All services are up",
    })),
    "boot: stop: All services are up",
  );
  assertEquals(consoleLine(j({ level: "info", msg: "bus status" })), undefined);
  assertEquals(
    consoleLine(j({
      ts: "x",
      level: "warn",
      msg: "cannot connect",
      component: "machined",
      error: "refused",
      n: 2,
    })),
    "warn: cannot connect error=refused n=2",
  );
  assertEquals(consoleLine("not json"), "not json");
});

Deno.test("consoleSink() writes only what the console shows", () => {
  const said: string[] = [];
  const sink = consoleSink({ say: (m) => said.push(m) });
  sink.write(JSON.stringify({ level: "debug", msg: "x" }));
  sink.write(JSON.stringify({ level: "error", msg: "boom" }));
  assertEquals(said, ["error: boom"]);
});
