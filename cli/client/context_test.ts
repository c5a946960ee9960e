import { assertEquals } from "../../lib/testing/mod.ts";
import type { ClientContext } from "../../lib/clientconfig/mod.ts";
import { unknownContextText } from "./context.ts";

Deno.test("unknownContextText() names the nearest context and the ones there are", () => {
  const c = {} as ClientContext;
  const config = { context: "prod", contexts: { prod: c, staging: c } };
  assertEquals(
    unknownContextText(config, "/h/.osctl/config", "prd"),
    'context "prd" is not in "/h/.osctl/config"; did you mean "prod"? (contexts: prod, staging)',
  );
  assertEquals(
    unknownContextText(config, "p", "qa"),
    'context "qa" is not in "p" (contexts: prod, staging)',
  );
  assertEquals(
    unknownContextText({ context: "", contexts: {} }, "p", "qa"),
    'context "qa" is not in "p" (it has no contexts)',
  );
  // "constructor" is no context either.
  assertEquals(
    unknownContextText(config, "p", "constructor").startsWith(
      'context "constructor" is not in "p"',
    ),
    true,
  );
});
