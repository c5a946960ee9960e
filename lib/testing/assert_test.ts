import assertStrict from "node:assert/strict";
import { assertRejects, assertThrows } from "./assert.ts";

class FlagError extends Error {
  override name = "FlagError";
}

/** What `fn` threw, which must be an AssertionError. */
function failure(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assertStrict.ok(err instanceof assertStrict.AssertionError, String(err));
    return err.message;
  }
  throw new Error("expected an AssertionError");
}

Deno.test("assertThrows() names the error it expects", async (t) => {
  const throwing = () => {
    throw new FlagError('--port "x" is not a number');
  };
  await t.step("returns the error of the named class", () => {
    const err = assertThrows(throwing, FlagError, "is not a number");
    assertStrict.equal(err.name, "FlagError");
    assertStrict.ok(assertThrows(throwing, Error, /^--port "x"/));
  });
  await t.step("fails on another class", () => {
    assertStrict.equal(
      failure(() => assertThrows(throwing, TypeError)),
      'expected TypeError, got FlagError: "--port \\"x\\" is not a number"',
    );
    assertStrict.equal(
      failure(() =>
        assertThrows(() => {
          throw "text";
        }, Error)
      ),
      'expected Error, got "text"',
    );
  });
  await t.step("fails on another message", () => {
    assertStrict.match(
      failure(() => assertThrows(throwing, FlagError, "out of range", "port")),
      /^port: expected the FlagError's message .* to include "out of range"$/,
    );
    assertStrict.match(
      failure(() => assertThrows(throwing, FlagError, /^-p/)),
      /to match \/\^-p\/$/,
    );
  });
  await t.step("fails when nothing is thrown", () => {
    assertStrict.equal(
      failure(() => assertThrows(() => 1, FlagError, "x", "parse")),
      "parse",
    );
    assertStrict.equal(
      failure(() => assertThrows(() => 1)),
      "expected a throw",
    );
  });
});

Deno.test("assertRejects() names the error it expects", async (t) => {
  const rejecting = () => Promise.reject(new RangeError("MTU 10 is too small"));
  await t.step("returns the error of the named class", async () => {
    const err = await assertRejects(rejecting, RangeError, "MTU 10");
    assertStrict.equal(err.message, "MTU 10 is too small");
  });
  await t.step("fails on another class or message", async () => {
    await assertStrict.rejects(
      assertRejects(rejecting, TypeError),
      /expected TypeError, got RangeError/,
    );
    await assertStrict.rejects(
      assertRejects(rejecting, RangeError, /MTU 9\b/),
      /to match \/MTU 9\\b\/$/,
    );
  });
  await t.step("fails when nothing rejects", async () => {
    await assertStrict.rejects(
      assertRejects(() => Promise.resolve(), RangeError),
      /^AssertionError.*: expected a rejection$/,
    );
  });
});
