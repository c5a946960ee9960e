import {
  assert,
  assertEquals,
  assertRejects,
  waitUntil,
} from "../testing/mod.ts";
import { HEADER_ERROR_CODE, HEADER_ERROR_MESSAGE } from "../constants/mod.ts";
import { ApiError } from "../api_error/mod.ts";
import { FakeStreamTransport } from "./_fake_stream_transport.ts";
import { readStream, type StreamReadOptions } from "./_stream_client.ts";
import { CREDIT, CTL, KIND } from "./_stream_wire.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const SUBJECT = "machined.rpc.Logs";
const INBOX = "_INBOX.apid.reader";
const CONTROL = "machined.ctl.test";
const POLL = { timeoutMs: 5000, intervalMs: 5 };

/** Opens a stream over a fake; the test plays the server. */
function open(options: StreamReadOptions = {}) {
  const transport = new FakeStreamTransport();
  const stream = readStream(transport, {
    subject: SUBJECT,
    data: enc.encode("request"),
    inbox: INBOX,
  }, { heartbeatMs: 60_000, ...options });
  const server = {
    open: () => transport.deliver(INBOX, { [KIND]: "open", [CTL]: CONTROL }),
    data: (text: string) =>
      transport.deliver(INBOX, { [KIND]: "data" }, { data: enc.encode(text) }),
    end: (extra: Record<string, string> = {}) =>
      transport.deliver(INBOX, { [KIND]: "end", ...extra }),
    hb: () => transport.deliver(INBOX, { [KIND]: "hb" }),
  };
  /** What the reader sent on the control subject. */
  const control = () =>
    transport.published.filter((p) => p.subject === CONTROL).map((p) =>
      p.headers[KIND] === "credit"
        ? `credit ${p.headers[CREDIT]}`
        : p.headers[KIND]
    );
  return { transport, stream, server, control };
}

/**
 * Reads every message of a stream, as text. The reader subscribes when the
 * read starts, so the test plays the server after calling this.
 */
function collect(stream: AsyncIterable<Uint8Array>): {
  got: string[];
  done: Promise<string[]>;
} {
  const got: string[] = [];
  const done = (async () => {
    for await (const m of stream) got.push(dec.decode(m));
    return got;
  })();
  return { got, done };
}

/** Reads every message of a stream, as text. */
function readAll(stream: AsyncIterable<Uint8Array>): Promise<string[]> {
  return collect(stream).done;
}

Deno.test("readStream() reads a stream and grants credit as it goes", async (t) => {
  await t.step("the request, then data in order until end", async () => {
    const s = open({ window: 4, headers: { "bronze-roles": "os:reader" } });
    const first = s.stream.next();
    const request = s.transport.published[0];
    assertEquals(request.subject, SUBJECT);
    assertEquals(dec.decode(request.data), "request");
    assertEquals(request.reply, INBOX);
    assertEquals(request.headers, {
      "bronze-roles": "os:reader",
      [CREDIT]: "4",
    });
    s.server.open();
    s.server.hb();
    s.server.data("a");
    s.server.data("b");
    s.server.hb();
    s.server.data("c");
    s.server.end();
    assertEquals(dec.decode((await first).value ?? new Uint8Array()), "a");
    assertEquals(await readAll(s.stream), ["b", "c"]);
    // Half the window consumed: one grant of 2; then c alone grants nothing.
    assertEquals(s.control(), ["credit 2"]);
    assert(!s.transport.isSubscribed(INBOX), "inbox unsubscribed");
  });

  await t.step("grants follow what the reader has consumed", async () => {
    const s = open({ window: 2 });
    const reading = readAll(s.stream);
    s.server.open();
    for (let i = 0; i < 5; i++) s.server.data(`m${i}`);
    s.server.end();
    assertEquals(await reading, ["m0", "m1", "m2", "m3", "m4"]);
    assertEquals(s.control(), [
      "credit 1",
      "credit 1",
      "credit 1",
      "credit 1",
      "credit 1",
    ]);
  });

  await t.step("the window is clamped to 1..1024", () => {
    for (const [window, sent] of [[0, "1"], [5000, "1024"], [NaN, "1"]]) {
      const s = open({ window: window as number });
      void s.stream.next();
      assertEquals(s.transport.published[0].headers[CREDIT], sent);
      s.server.end();
    }
  });

  await t.step(
    "keepalives go to the server once the stream is open",
    async () => {
      const s = open({ heartbeatMs: 10 });
      const reading = readAll(s.stream);
      await waitUntil(() => s.transport.published.length === 1, POLL);
      s.server.open();
      await waitUntil(() => s.control().length >= 2, POLL);
      s.server.end();
      await reading;
      assert(s.control().every((c) => c === "credit 0"), `${s.control()}`);
    },
  );
});

Deno.test("readStream() cancels the stream when the reader stops", async (t) => {
  await t.step("breaking out of the loop sends cancel", async () => {
    const s = open();
    const first = s.stream.next();
    s.server.open();
    s.server.data("a");
    s.server.data("b");
    assertEquals(dec.decode((await first).value ?? new Uint8Array()), "a");
    await s.stream.return(); // what `break` in a for-await does
    assertEquals(s.control(), ["cancel"]);
    assert(!s.transport.isSubscribed(INBOX));
  });

  await t.step("the signal cancels a waiting read", async () => {
    const ac = new AbortController();
    const s = open({ signal: ac.signal });
    const r = collect(s.stream);
    s.server.open();
    s.server.data("a");
    await waitUntil(() => r.got.length === 1, POLL);
    ac.abort();
    const err = await assertRejects(() => r.done);
    assert(err instanceof ApiError);
    assertEquals(err.status, "Canceled");
    assertEquals(err.message, "stream canceled");
    assertEquals(s.control(), ["cancel"]);
  });

  await t.step(
    "no cancel before the server opened, nor after its end",
    async () => {
      const ac = new AbortController();
      ac.abort();
      const before = open({ signal: ac.signal });
      await assertRejects(
        () => readAll(before.stream),
        ApiError,
        "stream canceled",
      );
      assertEquals(before.control(), []);
      const after = open();
      const reading = readAll(after.stream);
      after.server.open();
      after.server.end();
      assertEquals(await reading, []);
      assertEquals(after.control(), []);
    },
  );
});

Deno.test("readStream() left before the server opened cancels once it does", async (t) => {
  await t.step("a late open gets its cancel", async () => {
    const ac = new AbortController();
    const s = open({ signal: ac.signal });
    const reading = readAll(s.stream);
    await waitUntil(() => s.transport.isSubscribed(INBOX), POLL);
    ac.abort();
    await assertRejects(() => reading, ApiError, "stream canceled");
    assertEquals(s.control(), []);
    assert(s.transport.isSubscribed(INBOX), "still listening for the open");
    s.server.open();
    assertEquals(s.control(), ["cancel"]);
    assertEquals(s.transport.isSubscribed(INBOX), false);
  });

  await t.step(
    "an end instead, or the connection closing, stops the wait",
    async () => {
      for (const how of ["end", "closing"] as const) {
        const ac = new AbortController();
        const closing = new AbortController();
        const s = open({ signal: ac.signal, closing: closing.signal });
        const reading = readAll(s.stream);
        await waitUntil(() => s.transport.isSubscribed(INBOX), POLL);
        ac.abort();
        await assertRejects(() => reading, ApiError, "stream canceled");
        if (how === "end") s.server.end();
        else closing.abort();
        assertEquals(s.transport.isSubscribed(INBOX), false, how);
        assertEquals(s.control(), [], how);
      }
    },
  );
});

Deno.test("readStream() fails with the server's error or on silence", async (t) => {
  await t.step("an end with an error throws it after the data", async () => {
    const s = open();
    const r = collect(s.stream);
    s.server.open();
    s.server.data("a");
    s.server.end({
      [HEADER_ERROR_CODE]: "NotFound",
      [HEADER_ERROR_MESSAGE]: 'log "x" was not registered',
    });
    const err = await assertRejects(() => r.done);
    assertEquals(r.got, ["a"]);
    assert(err instanceof ApiError);
    assertEquals(err.status, "NotFound");
    assertEquals(err.message, 'log "x" was not registered');
    assertEquals(s.control(), [], "no cancel after an end");
  });

  await t.step("an unknown status name is Unknown", async () => {
    const s = open();
    const reading = readAll(s.stream);
    s.server.end({ [HEADER_ERROR_CODE]: "Melted", [HEADER_ERROR_MESSAGE]: "" });
    const err = await assertRejects(() => reading);
    assert(err instanceof ApiError);
    assertEquals(err.status, "Unknown");
  });

  await t.step("no responders is Unavailable", async () => {
    const s = open();
    const reading = readAll(s.stream);
    s.transport.deliver(INBOX, {}, { status: 503 });
    const err = await assertRejects(() => reading);
    assert(err instanceof ApiError);
    assertEquals(err.status, "Unavailable");
    assertEquals(err.message, `no responders for "${SUBJECT}"`);
  });

  await t.step("no open within the idle time is DeadlineExceeded", async () => {
    const s = open({ idleTimeoutMs: 50 });
    const err = await assertRejects(() => readAll(s.stream));
    assert(err instanceof ApiError);
    assertEquals(err.status, "DeadlineExceeded");
    assertEquals(err.message, `no reply from ${SUBJECT} within 50 ms`);
  });

  await t.step("an open stream gone silent is Unavailable", async () => {
    const s = open({ idleTimeoutMs: 50 });
    const r = collect(s.stream);
    s.server.open();
    s.server.data("a");
    const err = await assertRejects(() => r.done);
    assertEquals(r.got, ["a"]);
    assert(err instanceof ApiError);
    assertEquals(err.status, "Unavailable");
    assertEquals(err.message, `stream from ${SUBJECT} went silent for 50 ms`);
    assertEquals(s.control(), ["cancel"]);
  });

  await t.step("heartbeats keep a quiet stream alive", async () => {
    const s = open({ idleTimeoutMs: 60 });
    const reading = readAll(s.stream);
    s.server.open();
    const t0 = Date.now();
    await waitUntil(() => {
      s.server.hb();
      return Date.now() - t0 > 200;
    }, { ...POLL, intervalMs: 10 });
    s.server.data("late");
    s.server.end();
    assertEquals(await reading, ["late"]);
  });

  await t.step("a server past the window is an error", async () => {
    const s = open({ window: 2 });
    const reading = readAll(s.stream);
    s.server.open();
    for (let i = 0; i < 2 + 16 + 2; i++) s.server.data(`m${i}`);
    const err = await assertRejects(() => reading);
    assert(err instanceof ApiError);
    assertEquals(err.status, "Internal");
    assertEquals(err.message, `stream from ${SUBJECT} overran its window`);
  });

  await t.step("a request that cannot be sent fails the read", async () => {
    const s = open();
    s.transport.close();
    const err = await assertRejects(() => readAll(s.stream));
    assert(err instanceof Error);
    assertEquals(err.message, "connection closed");
    assert(!s.transport.isSubscribed(INBOX));
  });
});
