import {
  attributeMap,
  encodeAttribute,
  encodeMessage,
  NetlinkParseError,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLMSG_ERROR,
  parseAck,
  parseAttributes,
  parseMessages,
} from "./netlink_message.ts";
import {
  assert,
  assertEquals,
  assertIncludes,
  assertThrows,
} from "../testing/mod.ts";

function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, "");
  return Uint8Array.from(
    clean.match(/../g) ?? [],
    (b) => parseInt(b, 16),
  );
}

Deno.test("parseMessages() splits a datagram and checks lengths", async (t) => {
  const a = encodeMessage({ type: 16, flags: 2, seq: 7 }, hex("010203"));
  const b = encodeMessage({ type: 3, flags: 2, seq: 7 }, hex("00000000"));
  const both = new Uint8Array(a.length + b.length);
  both.set(a);
  both.set(b, a.length);

  await t.step("two messages, padding skipped", () => {
    const msgs = parseMessages(both);
    assertEquals(msgs.length, 2);
    assertEquals(msgs[0].type, 16);
    assertEquals(msgs[0].seq, 7);
    assertEquals(Array.from(msgs[0].payload), [1, 2, 3]);
    assertEquals(msgs[1].type, 3);
  });
  await t.step("empty datagram is no messages", () => {
    assertEquals(parseMessages(new Uint8Array(0)), []);
  });
  await t.step("header longer than the datagram", () => {
    const cut = both.slice(0, both.length - 2);
    const err = assertThrows(() => parseMessages(cut));
    assert(err instanceof NetlinkParseError);
    assertIncludes(String(err), "has length 20");
  });
  await t.step("length below the header size", () => {
    const bad = a.slice();
    new DataView(bad.buffer).setUint32(0, 8, true);
    assertIncludes(String(assertThrows(() => parseMessages(bad))), "length 8");
  });
  await t.step("trailing bytes shorter than a header", () => {
    const bad = new Uint8Array(a.length + 5);
    bad.set(a);
    assertIncludes(
      String(assertThrows(() => parseMessages(bad))),
      "shorter than a header",
    );
  });
  await t.step("last message without padding is accepted", () => {
    const unpadded = a.slice(0, 19);
    assertEquals(parseMessages(unpadded).length, 1);
  });
});

Deno.test("parseAttributes() checks every attribute length", async (t) => {
  const attrs = new Uint8Array([
    ...encodeAttribute(3, hex("6c6f00")),
    ...encodeAttribute(0x8012, hex("0800010076657468")),
  ]);
  await t.step("types masked, values sliced", () => {
    const list = parseAttributes(attrs, "test");
    assertEquals(list.map((x) => x.type), [3, 0x12]);
    assertEquals(Array.from(list[0].value), [0x6c, 0x6f, 0]);
    assertEquals(attributeMap(attrs, "test").get(0x12)?.length, 8);
  });
  await t.step("length past the end", () => {
    const bad = attrs.slice();
    new DataView(bad.buffer).setUint16(0, 200, true);
    const err = assertThrows(() => parseAttributes(bad, "link 1 attributes"));
    assert(err instanceof NetlinkParseError);
    assertIncludes(String(err), "link 1 attributes");
    assertIncludes(String(err), "length 200");
  });
  await t.step("length below 4", () => {
    const bad = attrs.slice();
    new DataView(bad.buffer).setUint16(0, 2, true);
    assertIncludes(
      String(assertThrows(() => parseAttributes(bad, "x"))),
      "length 2",
    );
  });
  await t.step("fewer than 4 trailing bytes are padding", () => {
    assertEquals(parseAttributes(hex("000000"), "x"), []);
  });
});

Deno.test("parseAck() reads ACKs, errors and the kernel's text", async (t) => {
  const echoed = encodeMessage(
    { type: 20, flags: 5, seq: 42 },
    new Uint8Array(8),
  );
  await t.step("ACK (errno 0)", () => {
    const p = new Uint8Array(4 + echoed.length);
    p.set(echoed, 4);
    const ack = parseAck({
      type: NLMSG_ERROR,
      flags: 0,
      seq: 42,
      pid: 0,
      payload: p,
    });
    assertEquals(ack, { errno: 0, seq: 42 });
  });
  await t.step("error with extended ACK text, capped", () => {
    const text = encodeAttribute(
      1,
      new TextEncoder().encode("Nexthop has invalid gateway\0"),
    );
    const p = new Uint8Array(4 + 16 + text.length);
    new DataView(p.buffer).setInt32(0, -22, true);
    p.set(echoed.subarray(0, 16), 4);
    p.set(text, 20);
    const ack = parseAck({
      type: NLMSG_ERROR,
      flags: NLM_F_CAPPED | NLM_F_ACK_TLVS,
      seq: 42,
      pid: 0,
      payload: p,
    });
    assertEquals(ack, {
      errno: 22,
      seq: 42,
      message: "Nexthop has invalid gateway",
    });
  });
  await t.step("too short", () => {
    const err = assertThrows(() =>
      parseAck({
        type: NLMSG_ERROR,
        flags: 0,
        seq: 1,
        pid: 0,
        payload: new Uint8Array(6),
      })
    );
    assertIncludes(String(err), "6 bytes");
  });
});
