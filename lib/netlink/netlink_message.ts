/** Netlink message framing: headers and attributes, encode and parse (pure). */

/** sizeof(struct nlmsghdr). */
export const NLMSG_HDRLEN = 16;
/** NLMSG_NOOP. */
export const NLMSG_NOOP = 1;
/** NLMSG_ERROR (also the ACK, with error 0). */
export const NLMSG_ERROR = 2;
/** NLMSG_DONE: end of a dump. */
export const NLMSG_DONE = 3;
/** NLMSG_OVERRUN. */
export const NLMSG_OVERRUN = 4;

/** NLM_F_REQUEST. */
export const NLM_F_REQUEST = 0x1;
/** NLM_F_MULTI: part of a multipart reply. */
export const NLM_F_MULTI = 0x2;
/** NLM_F_ACK. */
export const NLM_F_ACK = 0x4;
/** NLM_F_DUMP (ROOT | MATCH). */
export const NLM_F_DUMP = 0x300;
/** NLM_F_REPLACE. */
export const NLM_F_REPLACE = 0x100;
/** NLM_F_EXCL. */
export const NLM_F_EXCL = 0x200;
/** NLM_F_CREATE. */
export const NLM_F_CREATE = 0x400;
/** On an NLMSG_ERROR: the request's payload was not echoed back. */
export const NLM_F_CAPPED = 0x100;
/** On an NLMSG_ERROR: extended ACK attributes follow. */
export const NLM_F_ACK_TLVS = 0x200;

/** NLMSGERR_ATTR_MSG: the kernel's error text. */
export const NLMSGERR_ATTR_MSG = 1;

/** NLA_F_NESTED | NLA_F_NET_BYTEORDER: masked off an attribute type. */
const NLA_TYPE_MASK = 0x3fff;

/** One netlink message as read off the socket. */
export interface NetlinkMessage {
  /** nlmsg_type. */
  type: number;
  /** nlmsg_flags. */
  flags: number;
  /** nlmsg_seq. */
  seq: number;
  /** nlmsg_pid (port id). */
  pid: number;
  /** The bytes after the header (a view, not a copy). */
  payload: Uint8Array;
}

/** A netlink datagram or attribute that does not parse. */
export class NetlinkParseError extends Error {
  /** Makes the error; the message says where and what. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "NetlinkParseError";
  }
}

/** Rounds up to netlink's 4-byte alignment. */
export function nlAlign(n: number): number {
  return (n + 3) & ~3;
}

/** Encodes one netlink message (header + payload, padded). */
export function encodeMessage(
  msg: { type: number; flags: number; seq: number; pid?: number },
  payload: Uint8Array,
): Uint8Array {
  const len = NLMSG_HDRLEN + payload.length;
  const out = new Uint8Array(nlAlign(len));
  const v = new DataView(out.buffer);
  v.setUint32(0, len, true);
  v.setUint16(4, msg.type, true);
  v.setUint16(6, msg.flags, true);
  v.setUint32(8, msg.seq >>> 0, true);
  v.setUint32(12, (msg.pid ?? 0) >>> 0, true);
  out.set(payload, NLMSG_HDRLEN);
  return out;
}

/**
 * Splits a datagram into netlink messages, checking every length; a
 * truncated or inconsistent datagram throws a {@linkcode NetlinkParseError}.
 */
export function parseMessages(buf: Uint8Array): NetlinkMessage[] {
  const out: NetlinkMessage[] = [];
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 0;
  while (off < buf.length) {
    if (buf.length - off < NLMSG_HDRLEN) {
      throw new NetlinkParseError(
        `Cannot parse netlink datagram: ${
          buf.length - off
        } trailing bytes at offset ${off} are shorter than a header`,
      );
    }
    const len = v.getUint32(off, true);
    if (len < NLMSG_HDRLEN || off + len > buf.length) {
      throw new NetlinkParseError(
        `Cannot parse netlink datagram: message at offset ${off} has length ${len}, ${
          buf.length - off
        } bytes left`,
      );
    }
    out.push({
      type: v.getUint16(off + 4, true),
      flags: v.getUint16(off + 6, true),
      seq: v.getUint32(off + 8, true),
      pid: v.getUint32(off + 12, true),
      payload: buf.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += Math.min(nlAlign(len), buf.length - off);
  }
  return out;
}

/** One attribute (rtattr/nlattr): its type (flags masked off) and value. */
export interface NetlinkAttribute {
  /** Attribute type without NLA_F_NESTED/NLA_F_NET_BYTEORDER. */
  type: number;
  /** The value bytes (a view). */
  value: Uint8Array;
}

/** Parses a run of attributes; `where` names the container for errors. */
export function parseAttributes(
  buf: Uint8Array,
  where: string,
): NetlinkAttribute[] {
  const out: NetlinkAttribute[] = [];
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 0;
  while (off + 4 <= buf.length) {
    const len = v.getUint16(off, true);
    if (len < 4 || off + len > buf.length) {
      throw new NetlinkParseError(
        `Cannot parse ${where}: attribute at offset ${off} has length ${len}, ${
          buf.length - off
        } bytes left`,
      );
    }
    out.push({
      type: v.getUint16(off + 2, true) & NLA_TYPE_MASK,
      value: buf.subarray(off + 4, off + len),
    });
    off += nlAlign(len);
  }
  return out;
}

/** Attributes by type (the last one wins, as in the kernel's nla_parse). */
export function attributeMap(
  buf: Uint8Array,
  where: string,
): Map<number, Uint8Array> {
  const m = new Map<number, Uint8Array>();
  for (const a of parseAttributes(buf, where)) m.set(a.type, a.value);
  return m;
}

/** Encodes one attribute (padded). */
export function encodeAttribute(type: number, value: Uint8Array): Uint8Array {
  const len = 4 + value.length;
  if (len > 0xffff) {
    throw new Error(`Cannot encode netlink attribute ${type}: ${len} bytes`);
  }
  const out = new Uint8Array(nlAlign(len));
  const v = new DataView(out.buffer);
  v.setUint16(0, len, true);
  v.setUint16(2, type, true);
  out.set(value, 4);
  return out;
}

/** A u32 attribute value in host (little-endian) order. */
export function u32Value(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n >>> 0, true);
  return out;
}

/** A NUL-terminated string attribute value. */
export function stringValue(s: string): Uint8Array {
  const b = new TextEncoder().encode(s);
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}

/** Reads a u32 attribute; `what` names it for errors. */
export function readU32(value: Uint8Array, what: string): number {
  if (value.length < 4) {
    throw new NetlinkParseError(
      `Cannot parse ${what}: ${value.length} bytes, expected 4`,
    );
  }
  return new DataView(value.buffer, value.byteOffset, 4).getUint32(0, true);
}

/** Reads a u8 attribute; `what` names it for errors. */
export function readU8(value: Uint8Array, what: string): number {
  if (value.length < 1) {
    throw new NetlinkParseError(`Cannot parse ${what}: empty`);
  }
  return value[0];
}

/** Reads a string attribute (up to the first NUL). */
export function readString(value: Uint8Array): string {
  const nul = value.indexOf(0);
  return new TextDecoder().decode(nul < 0 ? value : value.subarray(0, nul));
}

/** Concatenates byte arrays. */
export function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** What an NLMSG_ERROR carries: errno (0 = ACK) and the kernel's text. */
export interface NetlinkAck {
  /** errno as a positive number; 0 means success. */
  errno: number;
  /** The extended-ACK message, when the kernel gave one. */
  message?: string;
  /** Sequence number of the request this answers. */
  seq: number;
}

/** Parses an NLMSG_ERROR message (ACK or error, with extended ACK text). */
export function parseAck(msg: NetlinkMessage): NetlinkAck {
  const p = msg.payload;
  if (p.length < 4 + NLMSG_HDRLEN) {
    throw new NetlinkParseError(
      `Cannot parse netlink error message: ${p.length} bytes, expected at least ${
        4 + NLMSG_HDRLEN
      }`,
    );
  }
  const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const error = v.getInt32(0, true);
  const origLen = v.getUint32(4, true);
  const seq = v.getUint32(12, true);
  const ack: NetlinkAck = { errno: error === 0 ? 0 : -error, seq };
  if (msg.flags & NLM_F_ACK_TLVS) {
    // The echoed request: its header only when capped, else all of it.
    let off = 4 + (msg.flags & NLM_F_CAPPED ? NLMSG_HDRLEN : nlAlign(origLen));
    if (off > p.length) off = p.length;
    for (const a of parseAttributes(p.subarray(off), "extended ACK")) {
      if (a.type === NLMSGERR_ATTR_MSG) ack.message = readString(a.value);
    }
  }
  return ack;
}
