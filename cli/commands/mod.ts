/**
 * The registry of osctl commands: each command lives in its own module here
 * and is listed once below.
 * @module
 */
import type { Command } from "../command.ts";

/** Every osctl command, in help order. */
export const COMMANDS: readonly Command[] = [];
