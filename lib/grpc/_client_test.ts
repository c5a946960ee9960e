import { Buffer } from "node:buffer";
import * as grpc from "@grpc/grpc-js";
import { ApiError } from "../api_error/mod.ts";
import { assert, assertEquals, assertRejects } from "../testing/mod.ts";
import { RawChannel } from "./raw_client.ts";

const PREFACE_LENGTH = 24;
const FRAME_HEADERS = 0x1;
const FRAME_SETTINGS = 0x4;
const FRAME_GOAWAY = 0x7;
const SETTINGS = new Uint8Array([0, 0, 0, FRAME_SETTINGS, 0, 0, 0, 0, 0]);
const SETTINGS_ACK = new Uint8Array([0, 0, 0, FRAME_SETTINGS, 1, 0, 0, 0, 0]);

/**
 * A bare HTTP/2 endpoint on loopback (cleartext): it settles SETTINGS,
 * answers no call, and counts the frame types each client sends until the
 * client's socket closes.
 */
function frameCounter() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const counts = new Map<number, number>();
  const closed = Promise.withResolvers<void>();
  const serve = (async () => {
    const conn = await listener.accept();
    let buffered = new Uint8Array(0);
    let prefaceSeen = false;
    try {
      await conn.write(SETTINGS);
      const chunk = new Uint8Array(16384);
      for (;;) {
        const n = await conn.read(chunk);
        if (n === null) break;
        const next = new Uint8Array(buffered.length + n);
        next.set(buffered);
        next.set(chunk.subarray(0, n), buffered.length);
        buffered = next;
        if (!prefaceSeen) {
          if (buffered.length < PREFACE_LENGTH) continue;
          buffered = buffered.subarray(PREFACE_LENGTH);
          prefaceSeen = true;
        }
        while (buffered.length >= 9) {
          const length = (buffered[0] << 16) | (buffered[1] << 8) |
            buffered[2];
          if (buffered.length < 9 + length) break;
          const type = buffered[3];
          const flags = buffered[4];
          counts.set(type, (counts.get(type) ?? 0) + 1);
          if (type === FRAME_SETTINGS && (flags & 1) === 0) {
            await conn.write(SETTINGS_ACK);
          }
          buffered = buffered.subarray(9 + length);
        }
      }
    } catch {
      // A reset connection ends the count like a closed one.
    } finally {
      conn.close();
      closed.resolve();
    }
  })();
  const { port } = listener.addr as Deno.NetAddr;
  return {
    address: `127.0.0.1:${port}`,
    counts,
    closed: closed.promise,
    async [Symbol.asyncDispose]() {
      listener.close();
      await serve.catch(() => {});
    },
  };
}

/** Connects for real: a call the endpoint never answers runs out of time. */
async function callOnce(
  call: () => Promise<unknown>,
): Promise<void> {
  const err = await assertRejects(call);
  assert(
    err instanceof ApiError
      ? err.status === "DeadlineExceeded"
      : /DEADLINE/.test(String(err)),
    String(err),
  );
}

Deno.test("RawChannel.close() ends its connection at the socket, without GOAWAY", async () => {
  await using server = frameCounter();
  const channel = new RawChannel(
    server.address,
    grpc.credentials.createInsecure(),
  );
  await callOnce(() =>
    channel.unary("/bronze.Test/Hang", new Uint8Array(0), { timeoutMs: 500 })
  );
  channel.close();
  await server.closed;
  assertEquals(server.counts.get(FRAME_HEADERS), 1, "the call reached it");
  assertEquals(server.counts.get(FRAME_GOAWAY) ?? 0, 0);
});

Deno.test("a plain grpc-js client's close() sends GOAWAY (what the endpoint counts)", async () => {
  // The control for the test above: the endpoint sees a GOAWAY when one is
  // sent, so a count of 0 there means none was.
  await using server = frameCounter();
  const client = new grpc.Client(
    server.address,
    grpc.credentials.createInsecure(),
    { "grpc.use_local_subchannel_pool": 1 },
  );
  await callOnce(() =>
    new Promise((resolve, reject) =>
      client.makeUnaryRequest(
        "/bronze.Test/Hang",
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.alloc(0),
        new grpc.Metadata(),
        { deadline: Date.now() + 500 },
        (err, reply) => err ? reject(err) : resolve(reply),
      )
    )
  );
  client.close();
  await server.closed;
  assertEquals(server.counts.get(FRAME_HEADERS), 1, "the call reached it");
  assert((server.counts.get(FRAME_GOAWAY) ?? 0) >= 1);
});
