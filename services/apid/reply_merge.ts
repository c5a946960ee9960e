/**
 * Wire-level merging of multi-node replies. Every reply that can come from many
 * nodes is `repeated X messages = 1`, and every X starts with
 * `common.Metadata metadata = 1`, so a proxy can tag and concatenate replies
 * without knowing X: it rewrites field 1 of each item and leaves the rest of
 * the bytes alone.
 * @module
 */
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { Metadata } from "../../lib/api/gen/common/common.ts";

/** What a proxy stamps on one node's items. */
export interface NodeTag {
  /** The target as the client named it. */
  hostname: string;
  /** Set when the node failed. */
  error?: string;
  /** gRPC status of a failed node. */
  status?: { code: number; message: string };
}

/** One top-level field of an encoded message, as byte offsets. */
interface RawField {
  no: number;
  wireType: WireType;
  /** Offset of the tag. */
  start: number;
  /** Offset of the value (after tag, and after the length prefix for LEN). */
  valueStart: number;
  /** Offset just past the field. */
  end: number;
}

/** Splits an encoded message into its top-level fields; throws on bad bytes. */
function scanFields(buf: Uint8Array): RawField[] {
  const reader = new BinaryReader(buf);
  const fields: RawField[] = [];
  while (reader.pos < reader.len) {
    const start = reader.pos;
    const [no, wireType] = reader.tag();
    let valueStart = reader.pos;
    if (wireType === WireType.LengthDelimited) {
      const len = reader.uint32();
      valueStart = reader.pos;
      if (valueStart + len > reader.len) {
        throw new Error(
          `Cannot parse reply: field ${no} runs past the end (${len} bytes)`,
        );
      }
      reader.pos = valueStart + len;
    } else {
      reader.skip(wireType, no);
    }
    fields.push({ no, wireType, start, valueStart, end: reader.pos });
  }
  return fields;
}

/**
 * Rewrites field 1 (`common.Metadata`) of one item: the hostname is replaced,
 * and error/status are set when given (kept from the item otherwise). Other
 * fields keep their bytes and order.
 */
export function tagItem(item: Uint8Array, tag: NodeTag): Uint8Array {
  const fields = scanFields(item);
  const metaParts: Uint8Array[] = [];
  const rest: Uint8Array[] = [];
  for (const f of fields) {
    if (f.no === 1 && f.wireType === WireType.LengthDelimited) {
      metaParts.push(item.subarray(f.valueStart, f.end));
    } else {
      rest.push(item.subarray(f.start, f.end));
    }
  }
  // Concatenated encodings of one message decode as their merge.
  const meta = Metadata.decode(concat(metaParts));
  meta.hostname = tag.hostname;
  if (tag.error !== undefined) meta.error = tag.error;
  if (tag.status !== undefined) meta.status = tag.status;
  const w = new BinaryWriter();
  w.uint32((1 << 3) | WireType.LengthDelimited);
  w.bytes(Metadata.encode(meta).finish());
  return concat([w.finish(), ...rest]);
}

/** Returns the items (field 1 values) of an encoded `repeated X messages` reply. */
export function replyItems(reply: Uint8Array): Uint8Array[] {
  return scanFields(reply)
    .filter((f) => f.no === 1 && f.wireType === WireType.LengthDelimited)
    .map((f) => reply.subarray(f.valueStart, f.end));
}

/**
 * Tags every item of one node's reply. A reply with no items gets one item
 * holding only the tag, so every node shows up in the merged answer.
 */
export function tagReply(reply: Uint8Array, tag: NodeTag): Uint8Array[] {
  const items = replyItems(reply);
  if (items.length === 0) return [errorItem(tag)];
  return items.map((item) => tagItem(item, tag));
}

/** An item holding only metadata: a node's error stand-in (valid as any X). */
export function errorItem(tag: NodeTag): Uint8Array {
  return wrapField1(
    Metadata.encode({
      hostname: tag.hostname,
      error: tag.error ?? "",
      status: tag.status,
    }).finish(),
  );
}

/** Builds a `repeated X messages = 1` reply from encoded items. */
export function joinItems(items: readonly Uint8Array[]): Uint8Array {
  return concat(items.map(wrapField1));
}

function wrapField1(value: Uint8Array): Uint8Array {
  const w = new BinaryWriter();
  w.uint32((1 << 3) | WireType.LengthDelimited);
  w.bytes(value);
  return w.finish();
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
