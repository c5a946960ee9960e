import { assertEquals, assertThrows } from "../../lib/testing/mod.ts";
import { UsageError } from "../command.ts";
import { parseDurationSeconds, parseIntFlag } from "./args.ts";
import { NodeLines } from "./lines.ts";
import { formatDuration, formatTable, reportNodeErrors } from "./output.ts";
import { splitReplies } from "./reply.ts";

Deno.test("formatTable() aligns columns three spaces apart", () => {
  assertEquals(
    formatTable(["NODE", "SERVICE", "STATE"], [
      ["10.5.0.2", "apid", "Running"],
      ["10.5.0.3", "networkd", "Failed"],
    ]),
    "NODE       SERVICE    STATE\n" +
      "10.5.0.2   apid       Running\n" +
      "10.5.0.3   networkd   Failed\n",
  );
});

Deno.test("formatDuration() prints like Go's Duration rounded to seconds", () => {
  assertEquals(formatDuration(0), "0s");
  assertEquals(formatDuration(44_600), "45s");
  assertEquals(formatDuration(65_000), "1m5s");
  assertEquals(formatDuration(7_203_000), "2h0m3s");
  assertEquals(formatDuration(-5), "0s");
});

Deno.test("reportNodeErrors() warns on stderr and returns 1", () => {
  let err = "";
  const io = { stdout: () => {}, stderr: (s: string) => (err += s) };
  assertEquals(reportNodeErrors(io, []), 0);
  assertEquals(err, "");
  assertEquals(
    reportNodeErrors(io, [{ node: "10.5.0.3", error: "connection refused" }, {
      node: "10.5.0.4",
      error: "no answer",
    }]),
    1,
  );
  assertEquals(
    err,
    "WARNING: 2 error(s) occurred:\n * 10.5.0.3: connection refused\n * 10.5.0.4: no answer\n",
  );
});

Deno.test("splitReplies() separates failed nodes", () => {
  const meta = (hostname: string, error = "") => ({
    hostname,
    error,
    status: undefined,
  });
  const { good, errors } = splitReplies([
    { metadata: meta("a") },
    { metadata: meta("b", "down") },
    { metadata: undefined },
  ], "endpoint");
  assertEquals(good.length, 2);
  assertEquals(errors, [{ node: "b", error: "down" }]);
});

Deno.test("NodeLines keeps each node's lines whole and prefixed", () => {
  let out = "";
  const lines = new NodeLines((t) => (out += t), true);
  const enc = new TextEncoder();
  lines.push("a", enc.encode("one\ntw"));
  lines.push("b", enc.encode("x"));
  lines.push("a", enc.encode("o\n"));
  lines.push("b", enc.encode("y\n"));
  lines.push("a", enc.encode("tail"));
  lines.flush();
  assertEquals(out, "a: one\na: two\nb: xy\na: tail\n");
});

Deno.test("flag parsers name the bad value", () => {
  assertEquals(parseDurationSeconds("8760h", "--crt-ttl"), 8760 * 3600);
  assertEquals(parseDurationSeconds("1h30m", "--crt-ttl"), 5400);
  assertEquals(parseDurationSeconds("90s", "--crt-ttl"), 90);
  for (const bad of ["", "10", "h", "1x", "0s", "1h 2m"]) {
    const e = assertThrows(() => parseDurationSeconds(bad, "--crt-ttl"));
    assertEquals(e instanceof UsageError, true, bad);
  }
  assertEquals(parseIntFlag(undefined, "--tail", -1), -1);
  assertEquals(parseIntFlag("20", "--tail", -1), 20);
  assertThrows(
    () => parseIntFlag("x", "--tail", -1),
    UsageError,
    '--tail "x": want a whole number',
  );
  assertThrows(
    () => parseIntFlag("-2", "--tail", -1),
    UsageError,
    '--tail "-2": want a whole number',
  );
});
