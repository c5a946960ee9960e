import { ConsoleReader, guestTimestamp } from "./console_reader.ts";
import {
  assertEquals,
  assertIncludes,
  assertRejects,
} from "../lib/testing/mod.ts";

const enc = new TextEncoder();

Deno.test("ConsoleReader splits lines and waits for a pattern", async (t) => {
  await t.step("partial lines wait; CR and escapes are dropped", () => {
    const r = new ConsoleReader();
    r.push(enc.encode("[    1.500000] Linux ver"));
    assertEquals(r.lines.length, 0);
    r.push(enc.encode("sion 6.1\r\n\x1b[0mplain\n"));
    assertEquals(r.lines.map((l) => l.text), [
      "[    1.500000] Linux version 6.1",
      "plain",
    ]);
    assertEquals(r.lines[0].guestSeconds, 1.5);
    assertEquals(r.lines[1].guestSeconds, undefined);
  });
  await t.step(
    "a line already seen resolves at once; later ones on arrival",
    async () => {
      const r = new ConsoleReader();
      r.push(enc.encode("a 1\n"));
      assertEquals((await r.waitFor(/a (\d)/)).match[1], "1");
      const later = r.waitFor(/b (\d)/);
      r.push(enc.encode("b 2\n"));
      assertEquals((await later).match[1], "2");
      assertEquals((await r.waitFor(/a|b/, { from: 1 })).text, "b 2");
    },
  );
  await t.step("timeout and close quote the last lines", async () => {
    const r = new ConsoleReader();
    r.push(enc.encode("booting\n"));
    assertIncludes(
      String(await assertRejects(() => r.waitFor(/never/, { timeoutMs: 10 }))),
      "| booting",
    );
    const pending = r.waitFor(/never/);
    r.close("QEMU exited");
    assertIncludes(
      String(await assertRejects(() => pending)),
      "QEMU exited before a line matching /never/",
    );
    assertIncludes(
      String(await assertRejects(() => r.waitFor(/x/))),
      "Console closed",
    );
  });
  await t.step("abort rejects", async () => {
    const r = new ConsoleReader();
    const ac = new AbortController();
    const p = r.waitFor(/x/, { signal: ac.signal });
    ac.abort();
    assertIncludes(String(await assertRejects(() => p)), "aborted");
  });
});

Deno.test("guestTimestamp() reads kernel-style stamps", () => {
  assertEquals(guestTimestamp("[   12.000250] x"), 12.00025);
  assertEquals(guestTimestamp("x [1.0]"), undefined);
});
