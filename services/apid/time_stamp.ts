/**
 * apid as the reference clock of Time: each node's answer carries its own
 * clock (localtime, from machined); the apid the client asked stamps, on
 * every item, its hostname (server), its clock at the middle of its round
 * trip to that node (remotetime) and the round trip itself (round_trip_us),
 * at the wire level, as it tags metadata. An apid on the way that stamped
 * before is overwritten: the one the client asked is the reference.
 * @module
 */
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { joinItems, replyItems } from "./reply_merge.ts";

/** The method whose answers apid stamps. */
export const TIME_METHOD = "Time";

/** What the reference stamps on one node's Time items. */
export interface TimeStamp {
  /** The reference's name (this apid's hostname). */
  server: string;
  /** The reference clock at the middle of the round trip, ms since the epoch (fractional). */
  remoteMs: number;
  /** The round trip to the node, in microseconds. */
  roundTripUs: number;
}

// Time's fields (Talos's time.Time numbers, and Bronze's round_trip_us).
const SERVER = 2;
const REMOTETIME = 4;
const ROUND_TRIP_US = 100;

/** One Time item without its stamp fields, then the stamp. */
export function stampTimeItem(item: Uint8Array, stamp: TimeStamp): Uint8Array {
  const kept: Uint8Array[] = [];
  const reader = new BinaryReader(item);
  while (reader.pos < reader.len) {
    const start = reader.pos;
    const [no, wireType] = reader.tag();
    reader.skip(wireType, no);
    if (no !== SERVER && no !== REMOTETIME && no !== ROUND_TRIP_US) {
      kept.push(item.subarray(start, reader.pos));
    }
  }
  const w = new BinaryWriter();
  w.uint32((SERVER << 3) | WireType.LengthDelimited).string(stamp.server);
  // Both Timestamp fields always written: nothing of an older one can merge in.
  const seconds = Math.floor(stamp.remoteMs / 1000);
  const nanos = Math.min(
    999_999_999,
    Math.round((stamp.remoteMs - seconds * 1000) * 1e6),
  );
  const ts = new BinaryWriter();
  ts.uint32((1 << 3) | WireType.Varint).int64(seconds);
  ts.uint32((2 << 3) | WireType.Varint).int32(nanos);
  w.uint32((REMOTETIME << 3) | WireType.LengthDelimited).bytes(ts.finish());
  w.uint32((ROUND_TRIP_US << 3) | WireType.Varint).uint64(
    Math.max(0, Math.round(stamp.roundTripUs)),
  );
  const tail = w.finish();
  let size = tail.length;
  for (const k of kept) size += k.length;
  const out = new Uint8Array(size);
  let off = 0;
  for (const k of kept) {
    out.set(k, off);
    off += k.length;
  }
  out.set(tail, off);
  return out;
}

/** Stamps every item of a TimeResponse. */
export function stampTimeReply(
  reply: Uint8Array,
  stamp: TimeStamp,
): Uint8Array {
  return joinItems(replyItems(reply).map((i) => stampTimeItem(i, stamp)));
}

/**
 * Runs one call to a node and stamps its Time answer with this apid's
 * clock: the wall clock at the end less half the round trip (timed by the
 * monotonic clock, which wall clock steps do not move).
 */
export async function timedCall(
  server: string,
  call: () => Promise<Uint8Array>,
): Promise<Uint8Array> {
  const t0 = performance.now();
  const reply = await call();
  const t1 = performance.now();
  const wall = Date.now();
  return stampTimeReply(reply, {
    server,
    remoteMs: wall - (t1 - t0) / 2,
    roundTripUs: (t1 - t0) * 1000,
  });
}
