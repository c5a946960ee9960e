import { nodeBuffer, nodeBuiltin, nodeCrypto, nodeTls } from "./mod.ts";
import {
  assert,
  assertEquals,
  assertIncludes,
  assertThrows,
} from "../testing/mod.ts";

Deno.test("nodeBuiltin() hands out Node's modules on first use", async (t) => {
  await t.step("the usual ones", () => {
    assertEquals(nodeBuffer().from("hi").toString("hex"), "6869");
    assertEquals(typeof nodeCrypto().createPrivateKey, "function");
    assertEquals(typeof nodeTls().createSecureContext, "function");
  });
  await t.step("an unknown name is refused by name", () => {
    const err = assertThrows(() => nodeBuiltin("node:no-such-module"));
    assert(err instanceof Error);
    assertIncludes(err.message, "node:no-such-module");
  });
});
