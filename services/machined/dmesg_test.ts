import { ApiError } from "../../lib/api_error/mod.ts";
import {
  assert,
  assertEquals,
  assertIncludes,
  assertRejects,
} from "../../lib/testing/mod.ts";
import {
  formatKmsgRecord,
  type KmsgRecord,
  parseKmsgRecord,
  readKmsg,
} from "./dmesg.ts";

Deno.test("kmsg records parse and format like dmesg", async (t) => {
  await t.step("parses a record and drops dictionary lines", () => {
    const r = parseKmsgRecord(
      "6,339,5140900,-;NET: Registered protocol family 10\n SUBSYSTEM=net\n",
    );
    assertEquals(r, {
      priority: 6,
      seq: 339,
      usec: 5140900,
      message: "NET: Registered protocol family 10",
    });
    assertEquals(
      formatKmsgRecord(r!),
      "[    5.140900] kern: info: NET: Registered protocol family 10\n",
    );
  });
  await t.step("garbage is not a record", () => {
    assertEquals(parseKmsgRecord("no semicolon"), undefined);
    assertEquals(parseKmsgRecord("a,b,c;x"), undefined);
  });
});

Deno.test("readKmsg() tails /dev/kmsg, or says why it cannot", async (t) => {
  await t.step("a missing device is FailedPrecondition naming it", async () => {
    const err = await assertRejects(async () => {
      for await (
        const _ of readKmsg({
          follow: false,
          tail: 1,
          signal: new AbortController().signal,
          path: "/nonexistent/kmsg",
        })
      ) {
        // nothing
      }
    });
    assert(err instanceof ApiError);
    assertEquals(err.status, "FailedPrecondition");
    assertIncludes(err.message, '"/nonexistent/kmsg"');
  });
  const readable = await Deno.open("/dev/kmsg").then((f) => {
    f.close();
    return true;
  }, () => false);
  await t.step({
    name: "the last 3 records of the real kernel log",
    ignore: !readable,
    fn: async () => {
      const got: KmsgRecord[] = [];
      for await (
        const r of readKmsg({
          follow: false,
          tail: 3,
          signal: new AbortController().signal,
        })
      ) got.push(r);
      assert(got.length >= 1 && got.length <= 3);
      assert(got.every((r, i) => i === 0 || r.seq > got[i - 1].seq));
    },
  });
  await t.step({
    name: "follow stops when aborted",
    ignore: !readable,
    fn: async () => {
      const ac = new AbortController();
      let n = 0;
      for await (
        const _ of readKmsg({
          follow: true,
          tail: 1,
          signal: ac.signal,
          pollMs: 50,
        })
      ) {
        // The tail arrived: the reader is following now; stop it.
        if (++n === 1) ac.abort();
      }
      assertEquals(n, 1, "no record after the abort");
    },
  });
});
