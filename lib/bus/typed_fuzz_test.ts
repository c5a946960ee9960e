/**
 * Fuzz of request decoding on the bus's serving side: every MachineService
 * request codec with random, well-formed, truncated, corrupted and edge-case
 * payloads. A payload either decodes or is refused InvalidArgument with a
 * short message naming the method, never another error. Seeded: the seed is
 * printed, BRONZE_FUZZ_SEED reproduces a run.
 */
import { MachineServiceService } from "../api/gen/machine/machine.ts";
import { ApiError } from "../api_error/mod.ts";
import {
  assert,
  assertEquals,
  FUZZ_SEED_ENV,
  fuzzSeed,
  hex,
  protobufPayloads,
  Rng,
} from "../testing/mod.ts";
import { decodeRequest, type MessageCodec } from "./typed.ts";

const CASES = 400;

Deno.test("decodeRequest() answers InvalidArgument for every undecodable request", () => {
  const seed = fuzzSeed();
  console.log(
    `decode fuzz seed ${seed} (${FUZZ_SEED_ENV}=${seed} reproduces this run)`,
  );
  const rng = new Rng(seed);
  const failures: string[] = [];
  let refused = 0;
  for (const [key, def] of Object.entries(MachineServiceService)) {
    const codec: MessageCodec<unknown> = {
      encode: () => ({ finish: () => new Uint8Array(0) }),
      decode: (b) =>
        (def as unknown as { requestDeserialize(b: Uint8Array): unknown })
          .requestDeserialize(b),
    };
    const name = key[0].toUpperCase() + key.slice(1);
    const subject = `machined.rpc.${name}`;
    for (const p of protobufPayloads(rng.fork(), CASES)) {
      try {
        decodeRequest(codec, p.bytes, subject);
      } catch (err) {
        refused++;
        const ok = err instanceof ApiError &&
          err.status === "InvalidArgument" &&
          err.message.startsWith(`invalid ${name} request: `) &&
          err.message.length < 300;
        if (!ok) {
          failures.push(
            `${key} ${hex(p.bytes)}: ${(err as Error).name} ${
              (err as Error).message
            }`,
          );
        }
      }
    }
  }
  assertEquals(failures.slice(0, 10).join("\n"), "", `seed ${seed}`);
  assert(refused > 0, "no payload was refused");
});
