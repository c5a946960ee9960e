import {
  addressRequest,
  dumpRequest,
  parseAddressMessage,
  parseLinkMessage,
  parseRouteMessage,
  routeRequest,
  RTM_GETADDR,
  RTM_GETLINK,
  RTM_NEWADDR,
  RTM_NEWROUTE,
  setLinkRequest,
} from "./rtnetlink.ts";
import {
  concatBytes,
  encodeAttribute,
  NetlinkParseError,
  parseMessages,
  u32Value,
} from "./netlink_message.ts";
import { parseCidr, parseIp } from "../netaddr/mod.ts";
import {
  assert,
  assertEquals,
  assertIncludes,
  assertThrows,
} from "../testing/mod.ts";

function hex(s: string): Uint8Array {
  return Uint8Array.from(
    s.replace(/\s+/g, "").match(/../g) ?? [],
    (b) => parseInt(b, 16),
  );
}

// Captured from a real RTM_GETADDR / RTM_GETROUTE dump (kernel 6.x).
const ADDR_LO = hex(
  "020880fe01000000 080001007f000001 080002007f000001 070003006c6f0000" +
    "0800080080000000 14000600ffffffffffffffff1400000014000000",
);
const ADDR_ETH0 = hex(
  "021880000400000008000100c000020208000200c000020208000400c00002ff" +
    "090003006574683000000000080008008000000014000600ffffffffffffffff" +
    "1400000014000000",
);
const ROUTE_DEFAULT = hex(
  "02000000fe0300010000000008000f00fe00000008000500c0000201080004000400" +
    "0000",
);
const ROUTE_CONNECTED = hex(
  "02180000fe02fd010000000008000f00fe00000008000100c000020008000700c000" +
    "02020800040004000000",
);

function linkFixture(): Uint8Array {
  const ifi = new Uint8Array(16);
  const v = new DataView(ifi.buffer);
  v.setUint16(2, 1, true); // ARPHRD_ETHER
  v.setInt32(4, 7, true);
  v.setUint32(8, 0x1 | 0x2 | 0x1000 | 0x10000, true);
  return concatBytes([
    ifi,
    encodeAttribute(3, new TextEncoder().encode("veth0\0")),
    encodeAttribute(4, u32Value(1400)),
    encodeAttribute(1, hex("02fc00000001")),
    encodeAttribute(16, new Uint8Array([6])),
    encodeAttribute(10, u32Value(3)),
    encodeAttribute(
      0x8000 | 18,
      encodeAttribute(1, new TextEncoder().encode("veth\0")),
    ),
  ]);
}

Deno.test("parseLinkMessage() reads name, MAC, MTU, state, flags, kind", async (t) => {
  await t.step("a veth link", () => {
    const l = parseLinkMessage(linkFixture());
    assertEquals(l.index, 7);
    assertEquals(l.name, "veth0");
    assertEquals(l.hardwareAddr, "02:fc:00:00:00:01");
    assertEquals(l.mtu, 1400);
    assertEquals(l.operState, "up");
    assertEquals(l.flags, ["UP", "BROADCAST", "MULTICAST", "LOWER_UP"]);
    assertEquals(l.kind, "veth");
    assertEquals(l.master, 3);
    assertEquals(l.type, 1);
  });
  await t.step("no IFLA_IFNAME is an error", () => {
    const err = assertThrows(() => parseLinkMessage(new Uint8Array(16)));
    assert(err instanceof NetlinkParseError);
    assertIncludes(String(err), "IFLA_IFNAME");
  });
  await t.step("short header", () => {
    assertIncludes(
      String(assertThrows(() => parseLinkMessage(new Uint8Array(10)))),
      "10 bytes, expected at least 16",
    );
  });
  await t.step("short IFLA_MTU", () => {
    const bad = concatBytes([
      new Uint8Array(16),
      encodeAttribute(3, new TextEncoder().encode("x\0")),
      encodeAttribute(4, new Uint8Array(2)),
    ]);
    assertIncludes(
      String(assertThrows(() => parseLinkMessage(bad))),
      "IFLA_MTU",
    );
  });
});

Deno.test("parseAddressMessage() reads captured kernel addresses", async (t) => {
  await t.step("lo 127.0.0.1/8, host scope", () => {
    const a = parseAddressMessage(ADDR_LO)!;
    assertEquals(a.address, "127.0.0.1/8");
    assertEquals(a.family, "inet");
    assertEquals(a.scope, "host");
    assertEquals(a.index, 1);
    assertEquals(a.label, "lo");
  });
  await t.step("eth0 192.0.2.2/24, global scope", () => {
    const a = parseAddressMessage(ADDR_ETH0)!;
    assertEquals(a.address, "192.0.2.2/24");
    assertEquals(a.scope, "global");
    assertEquals(a.index, 4);
  });
  await t.step("a truncated attribute is an error", () => {
    const err = assertThrows(() =>
      parseAddressMessage(ADDR_LO.subarray(0, ADDR_LO.length - 3))
    );
    assert(err instanceof NetlinkParseError);
  });
  await t.step("an address of the wrong size is an error", () => {
    const bad = concatBytes([
      ADDR_LO.subarray(0, 8),
      encodeAttribute(1, new Uint8Array(5)),
    ]);
    assertIncludes(
      String(assertThrows(() => parseAddressMessage(bad))),
      "5 bytes, expected 4",
    );
  });
  await t.step("a prefix out of range is an error", () => {
    const bad = ADDR_LO.slice();
    bad[1] = 40;
    assertIncludes(
      String(assertThrows(() => parseAddressMessage(bad))),
      "prefix length 40",
    );
  });
  await t.step("other families are skipped", () => {
    const other = ADDR_LO.slice();
    other[0] = 17;
    assertEquals(parseAddressMessage(other), undefined);
  });
});

Deno.test("parseRouteMessage() reads captured kernel routes", async (t) => {
  await t.step("default via gateway", () => {
    const r = parseRouteMessage(ROUTE_DEFAULT)!;
    assertEquals(r.destination, "0.0.0.0/0");
    assertEquals(r.gateway, "192.0.2.1");
    assertEquals(r.oif, 4);
    assertEquals(r.table, 254);
    assertEquals(r.type, "unicast");
    assertEquals(r.scope, "global");
  });
  await t.step("connected route with prefsrc", () => {
    const r = parseRouteMessage(ROUTE_CONNECTED)!;
    assertEquals(r.destination, "192.0.2.0/24");
    assertEquals(r.gateway, "");
    assertEquals(r.scope, "link");
    assertEquals(r.protocol, 2);
    assertEquals(r.prefsrc, "192.0.2.2");
  });
  await t.step("multipath: the first next hop", () => {
    const nh = concatBytes([
      new Uint8Array([16, 0, 0, 0, 9, 0, 0, 0]),
      encodeAttribute(5, hex("0a000001")),
    ]);
    const msg = concatBytes([
      ROUTE_DEFAULT.subarray(0, 12),
      encodeAttribute(9, nh),
    ]);
    const r = parseRouteMessage(msg)!;
    assertEquals(r.gateway, "10.0.0.1");
    assertEquals(r.oif, 9);
  });
  await t.step("a bad gateway size is an error", () => {
    const msg = concatBytes([
      ROUTE_DEFAULT.subarray(0, 12),
      encodeAttribute(5, hex("0a0000")),
    ]);
    assertIncludes(
      String(assertThrows(() => parseRouteMessage(msg))),
      "RTA_GATEWAY",
    );
  });
  await t.step("cloned (cache) routes are skipped", () => {
    const msg = ROUTE_DEFAULT.slice();
    new DataView(msg.buffer).setUint32(8, 0x200, true);
    assertEquals(parseRouteMessage(msg), undefined);
  });
});

Deno.test("request builders produce what the parsers read back", async (t) => {
  await t.step("dump requests", () => {
    const [m] = parseMessages(dumpRequest(RTM_GETLINK, 9));
    assertEquals([m.type, m.flags, m.seq, m.payload.length], [
      18,
      0x301,
      9,
      16,
    ]);
    const [a] = parseMessages(dumpRequest(RTM_GETADDR, 10));
    assertEquals(a.payload.length, 8);
  });
  await t.step("set link up with MTU", () => {
    const [m] = parseMessages(
      setLinkRequest({ index: 5, up: true, mtu: 1400 }, 3),
    );
    assertEquals(m.flags, 0x5);
    const v = new DataView(m.payload.buffer, m.payload.byteOffset);
    assertEquals([
      v.getInt32(4, true),
      v.getUint32(8, true),
      v.getUint32(12, true),
    ], [5, 1, 1]);
    const l = parseLinkMessage(concatBytes([
      m.payload,
      encodeAttribute(3, new TextEncoder().encode("x\0")),
    ]));
    assertEquals(l.mtu, 1400);
  });
  await t.step("an MTU out of range is refused", () => {
    assertIncludes(
      String(assertThrows(() => setLinkRequest({ index: 1, mtu: 10 }, 1))),
      "MTU 10",
    );
  });
  await t.step("add address round-trips", () => {
    const c = parseCidr("10.9.0.2/24");
    const [m] = parseMessages(
      addressRequest("add", { index: 3, ...c, proto: 77 }, 4),
    );
    assertEquals(m.type, RTM_NEWADDR);
    assertEquals(m.flags, 0x1 | 0x4 | 0x400 | 0x200);
    const a = parseAddressMessage(m.payload)!;
    assertEquals([a.address, a.index, a.proto], ["10.9.0.2/24", 3, 77]);
  });
  await t.step("add route round-trips", () => {
    const dst = parseCidr("10.20.0.0/16");
    const [m] = parseMessages(routeRequest("add", {
      family: "inet",
      dstBytes: dst.bytes,
      dstPrefix: 16,
      gateway: parseIp("10.9.0.1").bytes,
      oif: 3,
      priority: 1024,
      protocol: 77,
    }, 5));
    assertEquals(m.type, RTM_NEWROUTE);
    const r = parseRouteMessage(m.payload)!;
    assertEquals(
      [r.destination, r.gateway, r.oif, r.priority, r.table, r.protocol],
      ["10.20.0.0/16", "10.9.0.1", 3, 1024, 254, 77],
    );
  });
  await t.step("mismatched family bytes are refused", () => {
    assertIncludes(
      String(assertThrows(() =>
        routeRequest("add", {
          family: "inet6",
          dstBytes: new Uint8Array(4),
          dstPrefix: 0,
        }, 1)
      )),
      "4 destination bytes for inet6",
    );
  });
});
