/**
 * The node-information commands (memory, processes, disks), listed together
 * so the registry gains one line for them.
 * @module
 */
import type { Command } from "../command.ts";
import { disksCommand } from "./disks.ts";
import { memoryCommand } from "./memory.ts";
import { processesCommand } from "./processes.ts";

/** memory, processes, disks, in help order. */
export const NODE_INFO_COMMANDS: readonly Command[] = [
  memoryCommand,
  processesCommand,
  disksCommand,
];
