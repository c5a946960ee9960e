/**
 * Test helpers: a real nats-server, temp dirs as disposables, fixture file
 * trees, polling, an abortable delay for slow fakes.
 * @module
 */
export { tempDir } from "./temp_dir.ts";
export type { TempDir } from "./temp_dir.ts";
export { writeTree } from "./write_tree.ts";
export { waitUntil } from "./poll.ts";
export { delay } from "./delay.ts";
export type { WaitOptions } from "./poll.ts";
export { freePort } from "./free_port.ts";
export { natsServerPath, startNats } from "./nats.ts";
export type { TestNats } from "./nats.ts";
export {
  assert,
  assertEquals,
  assertIncludes,
  assertRejects,
  assertThrows,
} from "./assert.ts";
export type { ErrorClass } from "./assert.ts";
