import { Buffer } from "node:buffer";
import * as grpc from "@grpc/grpc-js";
import { ApiError } from "../api_error/mod.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  waitUntil,
} from "../testing/mod.ts";
import { type ChannelLease, ChannelPool } from "./channel_pool.ts";

const FOLLOW = "/bronze.Test/Follow";
const PING = "/bronze.Test/Ping";
const FAIL = "/bronze.Test/Fail";
const EMPTY = new Uint8Array(0);
const id = (b: Buffer): Buffer => b;

/**
 * A real grpc-js server on 127.0.0.1 allowing 128 streams per connection
 * (as apid does): Follow streams a message every 20 ms until cancelled,
 * Ping answers, Fail ends with UNAVAILABLE.
 */
async function testServer() {
  const server = new grpc.Server({ "grpc.max_concurrent_streams": 128 });
  const state = { open: 0 };
  const method = (path: string, responseStream: boolean) => ({
    path,
    requestStream: false,
    responseStream,
    requestSerialize: id,
    requestDeserialize: id,
    responseSerialize: id,
    responseDeserialize: id,
  });
  server.addService({
    Follow: method(FOLLOW, true),
    Ping: method(PING, false),
    Fail: method(FAIL, false),
  }, {
    Follow: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      state.open++;
      const timer = setInterval(() => call.write(Buffer.from("x")), 20);
      call.on("cancelled", () => {
        clearInterval(timer);
        state.open--;
      });
    },
    Ping: (
      _call: grpc.ServerUnaryCall<Buffer, Buffer>,
      cb: grpc.sendUnaryData<Buffer>,
    ) => cb(null, Buffer.from("pong")),
    Fail: (
      _call: grpc.ServerUnaryCall<Buffer, Buffer>,
      cb: grpc.sendUnaryData<Buffer>,
    ) => cb({ code: grpc.status.UNAVAILABLE, details: "not here" }),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      "127.0.0.1:0",
      grpc.ServerCredentials.createInsecure(),
      (err, p) => (err ? reject(err) : resolve(p)),
    )
  );
  return {
    port,
    state,
    stop: () => server.forceShutdown(),
  };
}

function poolFor(
  port: number,
  options: Partial<ConstructorParameters<typeof ChannelPool>[0]> = {},
) {
  return new ChannelPool({
    port,
    tls: () => ({
      credentials: grpc.credentials.createInsecure(),
      channelOptions: {},
    }),
    idleCloseMs: 200,
    ...options,
  });
}

/** Opens a Follow stream on a leased connection and reads one message. */
async function follow(pool: ChannelPool) {
  const ac = new AbortController();
  const lease = await pool.acquire("127.0.0.1", "stream", ac.signal);
  const stream = await lease.channel.stream(FOLLOW, EMPTY, {
    signal: ac.signal,
  });
  const it = stream[Symbol.asyncIterator]();
  assert(!(await it.next()).done);
  return {
    async cancel() {
      ac.abort();
      await it.return?.();
      lease.release();
    },
  };
}

Deno.test("ChannelPool opens another connection when one's calls are used up", async () => {
  const server = await testServer();
  const pool = poolFor(server.port);
  try {
    const streams = await Promise.all(
      Array.from({ length: 150 }, () => follow(pool)),
    );
    assertEquals(server.state.open, 150, "every stream is served");
    assertEquals(pool.use("127.0.0.1").stream.connections, 3);
    // Unary calls have connections of their own.
    const lease = await pool.acquire("127.0.0.1", "unary");
    const pong = await lease.channel.unary(PING, EMPTY, { timeoutMs: 2000 });
    lease.release();
    assertEquals(new TextDecoder().decode(pong), "pong");
    await Promise.all(streams.map((s) => s.cancel()));
    await waitUntil(() => server.state.open === 0, {
      timeoutMs: 5000,
      what: "the streams to end on the server",
    });
    assertEquals(pool.use("127.0.0.1").stream.active, 0);
    await waitUntil(() => pool.use("127.0.0.1").stream.connections === 1, {
      timeoutMs: 5000,
      what: "the extra connection to close once idle",
    });
  } finally {
    pool.close();
    server.stop();
  }
});

Deno.test("ChannelPool queues past its connections; a cancelled waiter leaves", async () => {
  const server = await testServer();
  const pool = poolFor(server.port, {
    callsPerConnection: { stream: 2 },
    maxConnections: { stream: 1 },
  });
  try {
    const a = await follow(pool);
    const b = await follow(pool);
    const ac = new AbortController();
    const waiting = pool.acquire("127.0.0.1", "stream", ac.signal);
    const next = pool.acquire("127.0.0.1", "stream");
    assertEquals(pool.use("127.0.0.1").stream.waiting, 2);
    ac.abort();
    const err = await assertRejects(() => waiting);
    assert(err instanceof ApiError && err.status === "Canceled", String(err));
    assertEquals(pool.use("127.0.0.1").stream.waiting, 1);
    await a.cancel();
    const lease: ChannelLease = await next;
    assertEquals(pool.use("127.0.0.1").stream.active, 2);
    lease.release();
    await b.cancel();
    assertEquals(server.state.open <= 2, true);
  } finally {
    pool.close();
    server.stop();
  }
});

Deno.test("ChannelPool keeps a connection whose call failed UNAVAILABLE", async () => {
  const server = await testServer();
  const pool = poolFor(server.port);
  try {
    const s = await follow(pool);
    const first = await pool.acquire("127.0.0.1", "stream");
    const err = await assertRejects(() =>
      first.channel.unary(FAIL, EMPTY, { timeoutMs: 2000 })
    );
    first.release();
    assert(
      err instanceof ApiError && err.status === "Unavailable",
      String(err),
    );
    assertEquals(first.channel.broken, false);
    assertEquals(pool.use("127.0.0.1").stream.connections, 1);
    assertEquals(server.state.open, 1, "the other call's stream is still up");
    await s.cancel();
  } finally {
    pool.close();
    server.stop();
  }
});

Deno.test("ChannelPool drops a connection that is broken and redials", async () => {
  const server = await testServer();
  const pool = poolFor(server.port, {
    channelOptions: {
      "grpc.initial_reconnect_backoff_ms": 50,
      "grpc.max_reconnect_backoff_ms": 50,
    },
  });
  try {
    const lease = await pool.acquire("127.0.0.1", "unary");
    await lease.channel.unary(PING, EMPTY, { timeoutMs: 2000 });
    lease.release();
    server.stop();
    const err = await assertRejects(async () => {
      const l = await pool.acquire("127.0.0.1", "unary");
      try {
        await l.channel.unary(PING, EMPTY, { timeoutMs: 2000 });
      } finally {
        l.release();
      }
    });
    assert(err instanceof ApiError, String(err));
    await waitUntil(() => lease.channel.broken, {
      timeoutMs: 5000,
      what: "the channel to say it is broken",
    });
    const again = await pool.acquire("127.0.0.1", "unary");
    assert(again.channel !== lease.channel, "a new connection is dialled");
    again.release();
  } finally {
    pool.close();
    // grpc-js leaves a lost connection's reconnect backoff timer running
    // after close: let it fire.
    await new Promise((r) => setTimeout(r, 500));
  }
});
