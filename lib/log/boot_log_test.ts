import { assert, assertEquals, tempDir } from "../testing/mod.ts";
import { bootLog, KMSG_RECORD_MAX, splitUtf8 } from "./boot_log.ts";

/** A stdout stand-in that keeps what is written. */
function capture(): { text(): string; writeSync(p: Uint8Array): number } {
  const chunks: Uint8Array[] = [];
  return {
    writeSync(p: Uint8Array): number {
      // Short writes, as a tty may do: the logger must finish the line.
      const n = Math.min(p.length, 7);
      chunks.push(p.slice(0, n));
      return n;
    },
    text: () =>
      new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c]))),
  };
}

Deno.test("bootLog() writes stamped stdout lines until the kernel log opens, then records", async () => {
  await using dir = await tempDir();
  const kmsg = `${dir.path}/kmsg`;
  const out = capture();
  using log = bootLog("bronze-init", () => 4.1234567, { kmsg, stdout: out });

  log("starting");
  assertEquals(out.text(), "[    4.123457] bronze-init: starting\n");

  // The device appears (devtmpfs mounted): from now on, records only.
  await Deno.writeTextFile(kmsg, "");
  log("mounted /rootfs.sqsh\nsecond line");
  assertEquals(out.text(), "[    4.123457] bronze-init: starting\n");
  assertEquals(
    await Deno.readTextFile(kmsg),
    "<14>bronze-init: mounted /rootfs.sqsh\n<14>bronze-init: second line\n",
  );
});

Deno.test("bootLog() cuts a long line into records the kernel accepts", async () => {
  await using dir = await tempDir();
  const kmsg = `${dir.path}/kmsg`;
  await Deno.writeTextFile(kmsg, "");
  using log = bootLog("machined", () => 0, { kmsg, stdout: capture() });
  const long = "é".repeat(KMSG_RECORD_MAX); // 2 bytes each
  log(long);
  const records = (await Deno.readTextFile(kmsg)).split("\n").slice(0, -1);
  assert(records.length >= 2, `${records.length} records`);
  let text = "";
  for (const r of records) {
    assert(r.startsWith("<14>machined: "), r.slice(0, 20));
    const body = r.slice("<14>machined: ".length);
    assert(new TextEncoder().encode(body).length <= KMSG_RECORD_MAX);
    text += body;
  }
  assertEquals(text, long);
});

Deno.test("splitUtf8() never splits a character", () => {
  const bytes = new TextEncoder().encode("aé€😀b".repeat(5));
  for (let max = 4; max <= 12; max++) {
    const pieces = splitUtf8(bytes, max);
    const dec = new TextDecoder("utf-8", { fatal: true });
    assertEquals(pieces.map((p) => dec.decode(p)).join(""), "aé€😀b".repeat(5));
    for (const p of pieces) assert(p.length <= max && p.length > 0);
  }
  assertEquals(splitUtf8(new Uint8Array(0), 4).length, 1);
});
