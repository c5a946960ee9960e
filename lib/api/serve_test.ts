import { Empty } from "./gen/common/common.ts";
import { LinksResponse, LogsRequest } from "./gen/machine/machine.ts";
import { Data } from "./gen/common/common.ts";
import { Bus, callTyped, streamTyped } from "../bus/mod.ts";
import { ApiError } from "../api_error/mod.ts";
import { rpcSubject, streamSubject } from "../constants/mod.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  startNats,
} from "../testing/mod.ts";
import { type MethodHandlers, serveMethod, serveMethods } from "./serve.ts";

Deno.test("serveMethods() serves a daemon's methods on their subjects", async (t) => {
  await using nats = await startNats();
  const networkd = await Bus.connect(nats.creds("networkd"));
  const machined = await Bus.connect(nats.creds("machined"));
  const apid = await Bus.connect(nats.creds("apid"));
  try {
    const links = (name: string) =>
      LinksResponse.fromPartial({ messages: [{ links: [{ name }] }] });
    serveMethods(networkd, "networkd", {
      Links: () => Promise.resolve(links("eth0")),
      Addresses: () => Promise.reject(new ApiError("Unavailable", "no")),
      Routes: () => Promise.resolve({ messages: [] }),
    });
    serveMethod(machined, "Logs", async (req, ctx) => {
      for (let i = 0; i < req.tailLines; i++) {
        await ctx.send({
          metadata: undefined,
          bytes: new TextEncoder().encode(`${req.id} ${i}`),
        });
      }
    });
    await networkd.flush();
    await machined.flush();

    await t.step("a unary method, request and reply typed", async () => {
      const reply = await callTyped(
        apid,
        rpcSubject("networkd", "Links"),
        { req: Empty, res: LinksResponse },
        { metadata: undefined },
      );
      assertEquals(reply.messages[0].links[0].name, "eth0");
    });

    await t.step("a handler's ApiError reaches the caller", async () => {
      const err = await assertRejects(() =>
        callTyped(
          apid,
          rpcSubject("networkd", "Addresses"),
          { req: Empty, res: LinksResponse },
          { metadata: undefined },
        )
      );
      assert(err instanceof ApiError && err.status === "Unavailable");
    });

    await t.step("a stream method on its stream subject", async () => {
      const got: string[] = [];
      for await (
        const m of streamTyped(
          apid,
          streamSubject("machined", "Logs"),
          { req: LogsRequest, res: Data },
          { id: "apid", tailLines: 3, follow: false },
        )
      ) {
        got.push(new TextDecoder().decode(m.bytes));
      }
      assertEquals(got, ["apid 0", "apid 1", "apid 2"]);
    });
  } finally {
    await apid.close();
    await machined.close();
    await networkd.close();
  }
});

Deno.test("a daemon's handler set must name every method it owns", () => {
  const none = () => Promise.resolve({ messages: [] });
  const complete: MethodHandlers<"networkd"> = {
    Links: none,
    Addresses: none,
    Routes: none,
  };
  assertEquals(Object.keys(complete), ["Links", "Addresses", "Routes"]);
  // @ts-expect-error: Routes is missing
  // deno-lint-ignore no-unused-vars
  const missing: MethodHandlers<"networkd"> = { Links: none, Addresses: none };
  const foreign: MethodHandlers<"udevd"> = {
    Disks: none,
    // @ts-expect-error: Links belongs to networkd
    Links: none,
  };
  assert(typeof foreign.Disks === "function");
});
