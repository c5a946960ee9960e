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

/** A class of error a test expects, e.g. `TypeError` or `ApiError`. */
export type ErrorClass<E extends Error = Error> = new (...args: never[]) => E;

/**
 * Asserts that `fn` rejects and returns what it threw. With `ErrorClass`,
 * what it threw must be one, and its message must include `msgMatches`
 * (a string) or match it (a RegExp).
 */
export async function assertRejects(
  fn: () => Promise<unknown>,
  message?: string,
): Promise<unknown>;
export async function assertRejects<E extends Error>(
  fn: () => Promise<unknown>,
  errorClass: ErrorClass<E>,
  msgMatches?: string | RegExp,
  message?: string,
): Promise<E>;
export async function assertRejects(
  fn: () => Promise<unknown>,
  classOrMessage?: string | ErrorClass,
  msgMatches?: string | RegExp,
  message?: string,
): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return expectError(err, classOrMessage, msgMatches, message);
  }
  throw new assertStrict.AssertionError({
    message: messageOf(classOrMessage, message) ?? "expected a rejection",
  });
}

/**
 * Asserts that `fn` throws and returns what it threw. With `ErrorClass`,
 * what it threw must be one, and its message must include `msgMatches`
 * (a string) or match it (a RegExp).
 */
export function assertThrows(fn: () => unknown, message?: string): unknown;
export function assertThrows<E extends Error>(
  fn: () => unknown,
  errorClass: ErrorClass<E>,
  msgMatches?: string | RegExp,
  message?: string,
): E;
export function assertThrows(
  fn: () => unknown,
  classOrMessage?: string | ErrorClass,
  msgMatches?: string | RegExp,
  message?: string,
): unknown {
  try {
    fn();
  } catch (err) {
    return expectError(err, classOrMessage, msgMatches, message);
  }
  throw new assertStrict.AssertionError({
    message: messageOf(classOrMessage, message) ?? "expected a throw",
  });
}

function messageOf(
  classOrMessage: string | ErrorClass | undefined,
  message: string | undefined,
): string | undefined {
  return typeof classOrMessage === "string" ? classOrMessage : message;
}

/** Checks a thrown value against the expected class and message. */
function expectError(
  err: unknown,
  classOrMessage: string | ErrorClass | undefined,
  msgMatches: string | RegExp | undefined,
  message: string | undefined,
): unknown {
  if (typeof classOrMessage !== "function") return err;
  const prefix = message ? `${message}: ` : "";
  if (!(err instanceof classOrMessage)) {
    const got = err instanceof Error
      ? `${err.name}: ${JSON.stringify(err.message)}`
      : JSON.stringify(String(err));
    throw new assertStrict.AssertionError({
      message: `${prefix}expected ${classOrMessage.name}, got ${got}`,
    });
  }
  if (msgMatches === undefined) return err;
  const ok = typeof msgMatches === "string"
    ? err.message.includes(msgMatches)
    : msgMatches.test(err.message);
  if (!ok) {
    const want = typeof msgMatches === "string"
      ? `to include ${JSON.stringify(msgMatches)}`
      : `to match ${msgMatches}`;
    throw new assertStrict.AssertionError({
      message: `${prefix}expected the ${classOrMessage.name}'s message ${
        JSON.stringify(err.message)
      } ${want}`,
    });
  }
  return err;
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
