import { Buffer } from "node:buffer";
import { assertEquals } from "../../lib/testing/mod.ts";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { DataResponse, Empty } from "../../lib/api/gen/common/common.ts";
import {
  ServiceListResponse,
  VersionResponse,
} from "../../lib/api/gen/machine/machine.ts";
import {
  errorItem,
  joinItems,
  replyItems,
  tagItem,
  tagReply,
} from "./reply_merge.ts";

function version(tag: string, hostname = ""): Uint8Array {
  return VersionResponse.encode({
    messages: [{
      metadata: hostname
        ? { hostname, error: "", status: undefined }
        : undefined,
      version: {
        tag,
        sha: "abc",
        built: "",
        denoVersion: "2.9",
        os: "linux",
        arch: "x86_64",
      },
      platform: { name: "process", mode: "process" },
    }],
  }).finish();
}

Deno.test("reply merge tags and concatenates replies at the wire level", async (t) => {
  await t.step("tagReply sets metadata.hostname and keeps the rest", () => {
    const merged = joinItems([
      ...tagReply(version("v1"), { hostname: "10.0.0.2" }),
      ...tagReply(version("v2"), { hostname: "node-3" }),
    ]);
    const decoded = VersionResponse.decode(merged);
    assertEquals(decoded.messages.length, 2);
    assertEquals(decoded.messages[0].metadata?.hostname, "10.0.0.2");
    assertEquals(decoded.messages[0].version?.tag, "v1");
    assertEquals(decoded.messages[1].metadata?.hostname, "node-3");
    assertEquals(decoded.messages[1].version?.tag, "v2");
    assertEquals(decoded.messages[1].platform?.mode, "process");
  });

  await t.step(
    "an existing hostname is replaced, an existing error kept",
    () => {
      const item = replyItems(
        DataResponse.encode({
          messages: [{
            metadata: { hostname: "old", error: "boom", status: undefined },
            bytes: Buffer.from([1, 2]),
          }],
        }).finish(),
      )[0];
      const tagged = tagItem(item, { hostname: "new" });
      const decoded = DataResponse.decode(joinItems([tagged]));
      assertEquals(decoded.messages[0].metadata?.hostname, "new");
      assertEquals(decoded.messages[0].metadata?.error, "boom");
      assertEquals([...decoded.messages[0].bytes], [1, 2]);
    },
  );

  await t.step("metadata in the middle of an item moves first, once", () => {
    const w = new BinaryWriter();
    w.uint32((2 << 3) | WireType.LengthDelimited).string("ab");
    w.uint32((1 << 3) | WireType.LengthDelimited).bytes(new Uint8Array(0));
    w.uint32((3 << 3) | WireType.Varint).int32(7);
    const tagged = tagItem(w.finish(), { hostname: "h" });
    // field 1 first: 0x0a
    assertEquals(tagged[0], 0x0a);
    const env = Empty.decode(tagged);
    assertEquals(env.metadata?.hostname, "h");
  });

  await t.step("an error item decodes as an entry of any reply", () => {
    const merged = joinItems([
      ...tagReply(version("v1"), { hostname: "a" }),
      errorItem({
        hostname: "b",
        error: "connection refused",
        status: { code: 14, message: "connection refused" },
      }),
    ]);
    const decoded = VersionResponse.decode(merged);
    assertEquals(decoded.messages.length, 2);
    assertEquals(decoded.messages[1].metadata?.hostname, "b");
    assertEquals(decoded.messages[1].metadata?.error, "connection refused");
    assertEquals(decoded.messages[1].metadata?.status?.code, 14);
    assertEquals(decoded.messages[1].version, undefined);
    const list = ServiceListResponse.decode(
      joinItems([errorItem({ hostname: "c", error: "x" })]),
    );
    assertEquals(list.messages[0].services, []);
    assertEquals(list.messages[0].metadata?.error, "x");
  });

  await t.step("a reply with no items still yields one entry", () => {
    const items = tagReply(new Uint8Array(0), { hostname: "x" });
    const decoded = VersionResponse.decode(joinItems(items));
    assertEquals(decoded.messages.length, 1);
    assertEquals(decoded.messages[0].metadata?.hostname, "x");
  });

  await t.step("malformed bytes are an error, not garbage", () => {
    let threw = false;
    try {
      tagReply(new Uint8Array([0x0a, 0x7f, 0x01]), { hostname: "x" });
    } catch {
      threw = true;
    }
    assertEquals(threw, true);
  });
});
