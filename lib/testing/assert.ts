import assertStrict from "node:assert/strict";

/** Asserts a value is truthy. */
export function assert(value: unknown, message?: string): asserts value {
  assertStrict.ok(value, message ?? "assertion failed");
}

/** Asserts deep strict equality. */
export function assertEquals<T>(
  actual: unknown,
  expected: T,
  message?: string,
): asserts actual is T {
  assertStrict.deepStrictEqual(actual, expected, message ?? "values differ");
}

/** Asserts that `fn` rejects and returns what it threw. */
export async function assertRejects(
  fn: () => Promise<unknown>,
  message?: string,
): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new assertStrict.AssertionError({
    message: message ?? "expected a rejection",
  });
}

/** Asserts that `fn` throws and returns what it threw. */
export function assertThrows(fn: () => unknown, message?: string): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new assertStrict.AssertionError({
    message: message ?? "expected a throw",
  });
}

/** Asserts `text` contains `part`. */
export function assertIncludes(
  text: string,
  part: string,
  message?: string,
): void {
  assertStrict.ok(
    text.includes(part),
    message ??
      `expected ${JSON.stringify(text)} to include ${JSON.stringify(part)}`,
  );
}
