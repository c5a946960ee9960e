/**
 * Test helpers: a real nats-server, temp dirs as disposables, fixture file
 * trees, polling, an abortable delay for slow fakes, seeded fuzz payloads.
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
export {
  edgePayloads,
  FUZZ_SEED_ENV,
  fuzzSeed,
  hex,
  protobufPayloads,
  Rng,
  wellFormedMessage,
} from "./fuzz.ts";
export type { FuzzPayload, PayloadKind } from "./fuzz.ts";
