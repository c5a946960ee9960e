import {
  assert,
  assertEquals,
  assertIncludes,
  assertRejects,
  waitUntil,
} from "../testing/mod.ts";
import { HEADER_ERROR_CODE, HEADER_ERROR_MESSAGE } from "../constants/mod.ts";
import type { StreamContext, StreamHandler } from "./bus.ts";
import { ApiError } from "../api_error/mod.ts";
import { FakeStreamTransport } from "./_fake_stream_transport.ts";
import { serveStream, type StreamServeOptions } from "./_stream_server.ts";
import { CREDIT, CTL, KIND } from "./_stream_wire.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const INBOX = "_INBOX.apid.reader";
const CONTROL = "machined.ctl.test";
const POLL = { timeoutMs: 5000, intervalMs: 5 };

/** Starts one stream with `window` credit; the test plays the reader. */
function start(
  handler: StreamHandler,
  options: Partial<StreamServeOptions> & {
    window?: string;
    transport?: FakeStreamTransport;
  } = {},
) {
  const transport = options.transport ?? new FakeStreamTransport();
  const closing = new AbortController();
  const headers: Record<string, string> = { "bronze-roles": "os:admin" };
  if (options.window !== undefined) headers[CREDIT] = options.window;
  const done = serveStream(transport, {
    subject: "machined.rpc.Logs",
    data: enc.encode("request"),
    headers,
    reply: INBOX,
  }, {
    handler,
    control: CONTROL,
    signal: closing.signal,
    heartbeatMs: options.heartbeatMs ?? 20,
    idleMs: options.idleMs ?? 60_000,
  });
  const data = () =>
    transport.published.filter((p) =>
      p.subject === INBOX && p.headers[KIND] === "data"
    ).map((p) => dec.decode(p.data));
  /** Resolves after a heartbeat sent from now on: the stream sat idle. */
  const idle = () => {
    const before = transport.kinds(INBOX).filter((k) => k === "hb").length;
    return waitUntil(
      () => transport.kinds(INBOX).filter((k) => k === "hb").length > before,
      { ...POLL, what: "a heartbeat" },
    );
  };
  return { transport, closing, done, data, idle };
}

/** A handler that sends `n` numbered messages and records what it saw. */
function counting(n: number) {
  const seen: { ctx?: StreamContext; request?: string; error?: unknown } = {};
  const handler: StreamHandler = async (request, ctx) => {
    seen.ctx = ctx;
    seen.request = dec.decode(request);
    try {
      for (let i = 0; i < n; i++) await ctx.send(enc.encode(`m${i}`));
    } catch (err) {
      seen.error = err;
      throw err;
    }
  };
  return { handler, seen };
}

Deno.test("serveStream() sends only as far as the reader's credit", async (t) => {
  await t.step("open, data within the window, then end", async () => {
    const { handler, seen } = counting(3);
    const s = start(handler, { window: "8" });
    await s.done;
    assertEquals(s.transport.kinds(INBOX), [
      "open",
      "data",
      "data",
      "data",
      "end",
    ]);
    assertEquals(s.data(), ["m0", "m1", "m2"]);
    assertEquals(s.transport.published[0].headers[CTL], CONTROL);
    assertEquals(seen.request, "request");
    assertEquals(seen.ctx?.subject, "machined.rpc.Logs");
    assertEquals(seen.ctx?.headers["bronze-roles"], "os:admin");
    assert(seen.ctx?.signal.aborted, "the handler's signal ends with it");
    assert(!s.transport.isSubscribed(CONTROL), "control unsubscribed");
  });

  await t.step("waits at zero credit and resumes on a grant", async () => {
    const { handler } = counting(5);
    const s = start(handler, { window: "2" });
    await waitUntil(() => s.data().length === 2, POLL);
    assertEquals(s.data(), ["m0", "m1"]);
    // A keepalive (credit 0) and nonsense grant nothing.
    s.transport.deliver(CONTROL, { [KIND]: "credit", [CREDIT]: "0" });
    s.transport.deliver(CONTROL, { [KIND]: "credit", [CREDIT]: "-4" });
    s.transport.deliver(CONTROL, { [KIND]: "credit", [CREDIT]: "lots" });
    s.transport.deliver(CONTROL, { [KIND]: "credit" });
    await s.idle();
    assertEquals(s.data().length, 2);
    s.transport.deliver(CONTROL, { [KIND]: "credit", [CREDIT]: "1" });
    await waitUntil(() => s.data().length === 3, POLL);
    s.transport.deliver(CONTROL, { [KIND]: "credit", [CREDIT]: "5" });
    await s.done;
    assertEquals(s.data(), ["m0", "m1", "m2", "m3", "m4"]);
    assertEquals(s.transport.kinds(INBOX).at(-1), "end");
  });

  await t.step(
    "the window is 32 by default and clamped to 1..1024",
    async () => {
      for (
        const [window, expected] of [
          [undefined, 32],
          ["5000", 1024],
          ["0", 1],
          ["abc", 1],
          ["3.9", 3],
        ] as const
      ) {
        const { handler } = counting(2000);
        const s = start(handler, window === undefined ? {} : { window });
        await waitUntil(() => s.data().length === expected, POLL);
        await s.idle();
        assertEquals(s.data().length, expected, `window ${window}`);
        s.transport.deliver(CONTROL, { [KIND]: "cancel" });
        await s.done;
      }
    },
  );
});

Deno.test("serveStream() stops the handler when the reader goes away", async (t) => {
  await t.step(
    "cancel aborts the signal and fails a waiting send",
    async () => {
      const { handler, seen } = counting(10);
      const s = start(handler, { window: "1" });
      await waitUntil(() => s.data().length === 1, POLL);
      s.transport.deliver(CONTROL, { [KIND]: "cancel" });
      await s.done;
      assert(seen.error instanceof ApiError);
      assertEquals(seen.error.status, "Canceled");
      assertEquals(seen.error.message, "stream closed by reader");
      assertEquals(
        String(seen.ctx?.signal.reason),
        "Error: canceled by reader",
      );
      // The reader is gone: no end.
      assertEquals(s.transport.kinds(INBOX), ["open", "data"]);
      assert(!s.transport.isSubscribed(CONTROL));
    },
  );

  await t.step("a silent reader is given up after idleMs", async () => {
    const { handler, seen } = counting(10);
    const s = start(handler, { window: "1", idleMs: 120 });
    const t0 = Date.now();
    await s.done;
    assert(Date.now() - t0 >= 120, "not before idleMs");
    assertEquals(
      String(seen.ctx?.signal.reason),
      "Error: stream reader went silent",
    );
    assert(seen.error instanceof ApiError);
    assertEquals(seen.error.status, "Canceled");
    const kinds = s.transport.kinds(INBOX);
    assertEquals(kinds.slice(0, 2), ["open", "data"]);
    assert(kinds.includes("hb"), `heartbeats while blocked: ${kinds}`);
    assert(!kinds.includes("end"), "no end to a reader that is gone");
  });

  await t.step("the reader's keepalives hold a quiet stream open", async () => {
    const release = Promise.withResolvers<void>();
    const s = start(async (_req, ctx) => {
      await release.promise;
      await ctx.send(enc.encode("late"));
    }, { idleMs: 100 });
    const t0 = Date.now();
    await waitUntil(() => {
      s.transport.deliver(CONTROL, { [KIND]: "credit", [CREDIT]: "0" });
      return Date.now() - t0 > 300;
    }, { ...POLL, intervalMs: 20 });
    release.resolve();
    await s.done;
    assertEquals(s.data(), ["late"]);
    assertEquals(s.transport.kinds(INBOX).at(-1), "end");
  });

  await t.step("the bus closing aborts the handler", async () => {
    const { handler, seen } = counting(10);
    const s = start(handler, { window: "1" });
    await waitUntil(() => s.data().length === 1, POLL);
    s.closing.abort();
    await s.done;
    assertEquals(String(seen.ctx?.signal.reason), "Error: bus closing");
    assert(!s.transport.kinds(INBOX).includes("end"));
  });
});

Deno.test("serveStream() ends with the handler's error", async (t) => {
  await t.step("an ApiError keeps its status, on one line", async () => {
    const s = start(async (_req, ctx) => {
      await ctx.send(enc.encode("first"));
      throw new ApiError("NotFound", 'log "x"\nwas not registered');
    });
    await s.done;
    const end = s.transport.published.at(-1);
    assertEquals(end?.headers, {
      [KIND]: "end",
      [HEADER_ERROR_CODE]: "NotFound",
      [HEADER_ERROR_MESSAGE]: 'log "x" was not registered',
    });
    assertEquals(s.data(), ["first"]);
  });

  await t.step("any other error is Unknown", async () => {
    const s = start(() => Promise.reject(new Error("disk on fire")));
    await s.done;
    const end = s.transport.published.at(-1);
    assertEquals(end?.headers[KIND], "end");
    assertEquals(end?.headers[HEADER_ERROR_CODE], "Unknown");
    assertIncludes(end?.headers[HEADER_ERROR_MESSAGE] ?? "", "disk on fire");
  });

  await t.step("a closed connection ends quietly", async () => {
    let sendError: unknown;
    const transport = new FakeStreamTransport();
    const s = start(async (_req, ctx) => {
      transport.close();
      sendError = await assertRejects(() => ctx.send(enc.encode("x")));
      throw sendError;
    }, { transport });
    await s.done;
    assert(sendError instanceof Error);
    assertEquals(sendError.message, "connection closed");
    assertEquals(s.transport.kinds(INBOX), ["open"]);
    assert(!s.transport.isSubscribed(CONTROL));
  });
});
