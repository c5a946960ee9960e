import {
  assert,
  assertEquals,
  assertRejects,
  startNats,
  waitUntil,
} from "../testing/mod.ts";
import { Bus } from "./mod.ts";
import { ApiError } from "../api_error/mod.ts";
import { HEALTH_NOTICES, healthNoticeSubject } from "../constants/mod.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

Deno.test("Bus request/reply carries bytes, headers and ApiErrors", async (t) => {
  await using nats = await startNats();
  const server = await Bus.connect(nats.creds("machined"));
  const client = await Bus.connect(nats.creds("apid"));
  try {
    server.serve("machined.rpc.Echo", (data, ctx) => {
      if (dec.decode(data) === "fail") {
        return Promise.reject(
          new ApiError("NotFound", 'log "x" was not registered'),
        );
      }
      return Promise.resolve(
        enc.encode(
          dec.decode(data) + "|" + (ctx.headers["bronze-roles"] ?? ""),
        ),
      );
    });
    await server.flush();
    await t.step("reply", async () => {
      const r = await client.request("machined.rpc.Echo", enc.encode("hi"), {
        headers: { "bronze-roles": "os:admin" },
      });
      assertEquals(dec.decode(r), "hi|os:admin");
    });
    await t.step("error keeps its status and message", async () => {
      const err = await assertRejects(() =>
        client.request("machined.rpc.Echo", enc.encode("fail"))
      );
      assert(err instanceof ApiError);
      assertEquals(err.status, "NotFound");
      assertEquals(err.message, 'log "x" was not registered');
    });
    await t.step("no responder is Unavailable, promptly", async () => {
      const t0 = Date.now();
      const err = await assertRejects(() =>
        client.request("machined.rpc.Nobody", enc.encode(""), {
          timeoutMs: 5000,
        })
      );
      assert(err instanceof ApiError);
      assertEquals(err.status, "Unavailable");
      assert(Date.now() - t0 < 4000);
    });
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("Bus streams respect the reader's window and stop on cancel", async (t) => {
  await using nats = await startNats();
  const server = await Bus.connect(nats.creds("machined"));
  const client = await Bus.connect(nats.creds("apid"));
  let sent = 0;
  /** The handler is inside send(), which waits while the reader has no credit. */
  let sending = false;
  let handlerEnded: Promise<void> | undefined;
  let endHandler: () => void = () => {};
  try {
    server.serveStream("machined.stream.Count", async (data, ctx) => {
      const n = Number(dec.decode(data));
      handlerEnded = new Promise((r) => (endHandler = r));
      try {
        for (let i = 0; i < n; i++) {
          sending = true;
          await ctx.send(enc.encode(String(i)));
          sending = false;
          sent++;
        }
        if (n === 3) throw new ApiError("Internal", "boom after three");
      } finally {
        endHandler();
      }
    });
    await server.flush();
    await t.step("all messages in order, then end", async () => {
      const got: string[] = [];
      for await (
        const m of client.openStream(
          "machined.stream.Count",
          enc.encode("100"),
          { window: 8 },
        )
      ) {
        got.push(dec.decode(m));
      }
      assertEquals(got.length, 100);
      assertEquals(got[99], "99");
    });
    await t.step("an error after data reaches the reader", async () => {
      const got: string[] = [];
      const err = await assertRejects(async () => {
        for await (
          const m of client.openStream("machined.stream.Count", enc.encode("3"))
        ) {
          got.push(dec.decode(m));
        }
      });
      assertEquals(got, ["0", "1", "2"]);
      assert(err instanceof ApiError);
      assertEquals(err.message, "boom after three");
    });
    await t.step("a slow reader holds the server at the window", async () => {
      sent = 0;
      const it = client.openStream(
        "machined.stream.Count",
        enc.encode("1000000"),
        { window: 4 },
      );
      const first = await it.next();
      assertEquals(dec.decode(first.value as Uint8Array), "0");
      // The server fills the window and then waits in send() for credit,
      // which the reader grants only after reading half the window more.
      await waitUntil(() => sent === 4 && sending, {
        timeoutMs: 5000,
        intervalMs: 10,
        what: "the server waiting at the window",
      }).catch((cause) => {
        throw new Error(`server at ${sent} sent, sending=${sending}`, {
          cause,
        });
      });
      assertEquals(sent, 4, "the server ran ahead of the window");
      await it.return(undefined);
      await handlerEnded;
      const after = sent;
      assert(after < 20, `server kept sending after cancel: ${after}`);
    });
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("nats-server refuses a daemon outside its subjects", async (t) => {
  await using nats = await startNats();
  const networkd = await Bus.connect(nats.creds("networkd"));
  const machined = await Bus.connect(nats.creds("machined"));
  try {
    let called = false;
    machined.serve("machined.rpc.Version", () => {
      called = true;
      return Promise.resolve(new Uint8Array());
    });
    await machined.flush();
    await t.step("publish to another daemon's API is refused", async () => {
      const err = await assertRejects(() =>
        networkd.request("machined.rpc.Version", new Uint8Array(), {
          timeoutMs: 2000,
        })
      );
      assert(err instanceof ApiError);
      assert(
        ["PermissionDenied", "DeadlineExceeded"].includes(err.status),
        err.message,
      );
      assertEquals(called, false);
    });
    await t.step(
      "subscribing to another daemon's subjects is refused",
      async () => {
        let served = false;
        networkd.serve("machined.rpc.Hostname", () => {
          served = true;
          return Promise.resolve(new Uint8Array());
        });
        const apid = await Bus.connect(nats.creds("apid"));
        try {
          // nats-server drops the refused subscription: no responders.
          const err = await assertRejects(
            () =>
              apid.request("machined.rpc.Hostname", new Uint8Array(), {
                timeoutMs: 1500,
              }),
            ApiError,
            'no responders for "machined.rpc.Hostname"',
          );
          assertEquals(err.status, "Unavailable");
          assertEquals(served, false);
        } finally {
          await apid.close();
        }
      },
    );
    await t.step(
      "a daemon announces its own health, never another's",
      async () => {
        const ac = new AbortController();
        const seen: string[] = [];
        const following = (async () => {
          for await (
            const m of machined.subscribe(HEALTH_NOTICES, { signal: ac.signal })
          ) seen.push(m.subject);
        })();
        await machined.flush();
        networkd.publish(healthNoticeSubject("apid"), new Uint8Array());
        networkd.publish(healthNoticeSubject("networkd"), new Uint8Array());
        await networkd.flush();
        await waitUntil(() => seen.length > 0, { timeoutMs: 5000 });
        await machined.flush();
        ac.abort();
        await following;
        assertEquals(seen, [healthNoticeSubject("networkd")]);
      },
    );
  } finally {
    await networkd.close();
    await machined.close();
  }
});

Deno.test("Bus reconnects after nats-server restarts", async () => {
  await using nats = await startNats();
  const server = await Bus.connect(nats.creds("machined"));
  const client = await Bus.connect(nats.creds("apid"));
  try {
    server.serve(
      "machined.rpc.Ping",
      () => Promise.resolve(enc.encode("pong")),
    );
    await server.flush();
    assertEquals(
      dec.decode(await client.request("machined.rpc.Ping", new Uint8Array())),
      "pong",
    );
    await nats.kill();
    await nats.restart();
    const r = await waitUntil(
      async () =>
        dec.decode(
          await client.request("machined.rpc.Ping", new Uint8Array(), {
            timeoutMs: 1000,
          }),
        ),
      { timeoutMs: 20000, what: "request after reconnect" },
    );
    assertEquals(r, "pong");
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("nats-server refuses a wrong password", async () => {
  await using nats = await startNats();
  const err = await assertRejects(() =>
    Bus.connect(
      { ...nats.creds("apid"), pass: "wrong-password-0123456789" },
      {
        connectTimeoutMs: 3000,
      },
    )
  );
  assert(err instanceof Error);
  assert(/Cannot connect to the bus/.test(err.message), err.message);
});
