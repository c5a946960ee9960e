/**
 * One clear line for a failed call.
 * @module
 */
import { errorText } from "../../lib/log/mod.ts";

/** The error as one line. */
export function errorLine(err: unknown): string {
  return errorText(err).replace(/\s*\n\s*/g, " ");
}
