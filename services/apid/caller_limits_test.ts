import { ApiError } from "../../lib/api_error/mod.ts";
import { assert, assertEquals, assertThrows } from "../../lib/testing/mod.ts";
import { CallerLimits } from "./caller_limits.ts";

Deno.test("CallerLimits bounds each caller's open calls per node and kind", async (t) => {
  const limits = new CallerLimits({
    stream: { "os:admin": 3, "os:reader": 2 },
    unary: { "os:reader": 1 },
  });
  const reader = { name: "alice", roles: ["os:reader"] };

  await t.step("a caller gets its role's limit, then ResourceExhausted", () => {
    const a = limits.take(reader, "10.0.0.2", "stream");
    limits.take(reader, "10.0.0.2", "stream");
    const err = assertThrows(() => limits.take(reader, "10.0.0.2", "stream"));
    assert(err instanceof ApiError, String(err));
    assertEquals(err.status, "ResourceExhausted");
    assertEquals(
      err.message,
      "too many forwarded stream calls to 10.0.0.2 from this caller: 2 open (at most 2)",
    );
    a();
    a(); // idempotent
    limits.take(reader, "10.0.0.2", "stream");
  });

  await t.step("other callers, nodes and kinds count apart", () => {
    limits.take({ name: "bob", roles: ["os:reader"] }, "10.0.0.2", "stream");
    limits.take(reader, "10.0.0.3", "stream");
    limits.take(reader, "10.0.0.2", "unary");
  });

  await t.step("several roles: the largest limit; no known role: none", () => {
    assertEquals(limits.limitOf(["os:reader", "os:admin"], "stream"), 3);
    assertEquals(limits.limitOf(["os:impersonator"], "stream"), 0);
    const err = assertThrows(
      () =>
        limits.take({ name: "x", roles: ["os:impersonator"] }, "h", "unary"),
      ApiError,
      "too many forwarded unary calls to h from this caller: 0 open (at most 0)",
    );
    assertEquals(err.status, "ResourceExhausted");
  });
});
