import {
  assert,
  assertEquals,
  assertRejects,
  startNats,
  waitUntil,
} from "../testing/mod.ts";
import { ApiError } from "../api_error/mod.ts";
import { Bus } from "./mod.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

Deno.test("afterReply() runs a handler's work once its reply is out", async (t) => {
  await using nats = await startNats();
  const server = await Bus.connect(nats.creds("machined"));
  const client = await Bus.connect(nats.creds("apid"));
  const ran: string[] = [];
  try {
    server.serve("machined.rpc.Ok", (data, ctx) => {
      const tag = dec.decode(data);
      ctx.afterReply(() => void ran.push(`${tag} 1`));
      ctx.afterReply(() => Promise.reject(new Error("the work failed")));
      ctx.afterReply(async () => {
        await Promise.resolve();
        ran.push(`${tag} 2`);
      });
      return Promise.resolve(enc.encode(`${tag} done`));
    });
    server.serve("machined.rpc.Fail", (_data, ctx) => {
      ctx.afterReply(() => void ran.push("failed call's work"));
      return Promise.reject(new ApiError("FailedPrecondition", "no"));
    });
    await server.flush();

    await t.step("after the reply, in order, past a failing one", async () => {
      const reply = await client.request("machined.rpc.Ok", enc.encode("a"));
      assertEquals(dec.decode(reply), "a done");
      await waitUntil(() => ran.length === 2, { what: "the deferred work" });
      assertEquals(ran, ["a 1", "a 2"]);
    });

    await t.step("never after a failed reply", async () => {
      const err = await assertRejects(
        () => client.request("machined.rpc.Fail", enc.encode("")),
        ApiError,
        "no",
      );
      assertEquals(err.status, "FailedPrecondition");
      // A later call's work has run, so the failed one's would have too.
      await client.request("machined.rpc.Ok", enc.encode("b"));
      await waitUntil(() => ran.includes("b 2"), { what: "b's work" });
      assert(!ran.includes("failed call's work"), ran.join(", "));
    });

    await t.step(
      "the reply is out even when the work closes the bus",
      async () => {
        const other = await Bus.connect(nats.creds("machined"));
        other.serve("machined.rpc.Bye", (_data, ctx) => {
          ctx.afterReply(() => other.close());
          return Promise.resolve(enc.encode("bye"));
        });
        await other.flush();
        const reply = await client.request("machined.rpc.Bye", enc.encode(""));
        assertEquals(dec.decode(reply), "bye");
        await other.closed();
      },
    );
  } finally {
    await client.close();
    await server.close();
  }
});
