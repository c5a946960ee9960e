import type { LinkStatus, RouteStatus } from "../../lib/netlink/mod.ts";
import { parseCidr, parseIp } from "../../lib/netaddr/mod.ts";
import {
  BRONZE_NETLINK_PROTO,
  describeChange,
  type NetworkState,
  planNetworkChanges,
} from "./apply_network.ts";
import { parseNetworkSpec } from "./network_spec.ts";
import {
  assertEquals,
  assertIncludes,
  assertThrows,
} from "../../lib/testing/mod.ts";

function link(
  index: number,
  name: string,
  up: boolean,
  mtu = 1500,
): LinkStatus {
  return {
    index,
    name,
    hardwareAddr: "",
    mtu,
    operState: up ? "up" : "down",
    flags: up ? ["UP"] : [],
    rawFlags: up ? 1 : 0,
    kind: "",
    type: 1,
    master: 0,
  };
}

function route(
  dst: string,
  gw: string,
  oif: number,
  priority: number,
  protocol: number,
): RouteStatus {
  const c = parseCidr(dst);
  return {
    family: c.family,
    destination: dst,
    dstBytes: c.bytes,
    dstPrefix: c.prefix,
    gateway: gw,
    oif,
    priority,
    table: 254,
    protocol,
    scope: "global",
    type: "unicast",
    prefsrc: "",
  };
}

function address(index: number, cidr: string, proto: number) {
  const c = parseCidr(cidr);
  return {
    index,
    family: c.family,
    address: cidr,
    bytes: c.bytes,
    prefix: c.prefix,
    scope: "global",
    label: "",
    flags: 0,
    proto,
  };
}

function plan(spec: unknown, state: NetworkState): string[] {
  return planNetworkChanges(parseNetworkSpec(spec).parsed, state).map(
    describeChange,
  );
}

const SPEC = {
  interfaces: [{
    name: "eth0",
    mtu: 9000,
    addresses: ["10.5.0.2/24"],
    routes: [{ network: "0.0.0.0/0", gateway: "10.5.0.1" }],
  }],
};

Deno.test("planNetworkChanges() computes the difference in order", async (t) => {
  await t.step("from nothing: link, then addresses, then routes", () => {
    assertEquals(
      plan(SPEC, {
        links: [link(1, "lo", true), link(2, "eth0", false)],
        addresses: [],
        routes: [],
      }),
      [
        'set mtu of "eth0" 1500 -> 9000',
        'bring "eth0" up',
        'add address 10.5.0.2/24 to "eth0"',
        'add route 0.0.0.0/0 via 10.5.0.1 metric 1024 dev "eth0"',
      ],
    );
  });
  await t.step("already there: nothing", () => {
    assertEquals(
      plan(SPEC, {
        links: [link(2, "eth0", true, 9000)],
        addresses: [address(2, "10.5.0.2/24", 0)],
        routes: [route("0.0.0.0/0", "10.5.0.1", 2, 1024, 3)],
      }),
      [],
    );
  });
  await t.step("ours and stale: removed, routes first; others' kept", () => {
    assertEquals(
      plan(SPEC, {
        links: [link(2, "eth0", true, 9000), link(3, "eth1", true)],
        addresses: [
          address(2, "10.5.0.2/24", BRONZE_NETLINK_PROTO),
          address(3, "10.6.0.2/24", BRONZE_NETLINK_PROTO),
          address(3, "10.7.0.2/24", 0),
        ],
        routes: [
          route("0.0.0.0/0", "10.5.0.1", 2, 1024, BRONZE_NETLINK_PROTO),
          route("10.8.0.0/16", "10.6.0.1", 3, 1024, BRONZE_NETLINK_PROTO),
          route("10.9.0.0/16", "10.7.0.1", 3, 1024, 4),
        ],
      }),
      [
        'delete route 10.8.0.0/16 via 10.6.0.1 metric 1024 dev "eth1"',
        'delete address 10.6.0.2/24 from "eth1"',
      ],
    );
  });
  await t.step("a changed gateway replaces our route", () => {
    assertEquals(
      plan(SPEC, {
        links: [link(2, "eth0", true, 9000)],
        addresses: [address(2, "10.5.0.2/24", BRONZE_NETLINK_PROTO)],
        routes: [
          route("0.0.0.0/0", "10.5.0.254", 2, 1024, BRONZE_NETLINK_PROTO),
        ],
      }),
      [
        'delete route 0.0.0.0/0 via 10.5.0.254 metric 1024 dev "eth0"',
        'add route 0.0.0.0/0 via 10.5.0.1 metric 1024 dev "eth0"',
      ],
    );
  });
  await t.step("unknown links are named, with the links there are", () => {
    const err = assertThrows(() =>
      plan(
        { interfaces: [{ name: "eth7" }, { name: "eth8" }] },
        { links: [link(1, "lo", true)], addresses: [], routes: [] },
      )
    );
    assertIncludes(String(err), 'no link named "eth7", "eth8" (links: lo)');
  });
});

Deno.test("parseNetworkSpec() names the field and quotes the value", async (t) => {
  await t.step("a full spec parses", () => {
    const { parsed } = parseNetworkSpec({
      interfaces: [{
        name: "eth0",
        addresses: ["fd00::2/64"],
        routes: [{ network: "::/0", gateway: "fd00::1", metric: 5 }],
      }],
    });
    assertEquals(parsed[0].routes[0].metric, 5);
    assertEquals(parsed[0].routes[0].gateway, parseIp("fd00::1"));
  });
  await t.step("an empty section is fine", () => {
    assertEquals(parseNetworkSpec({}).parsed, []);
  });
  await t.step("lib/config's other fields are accepted", () => {
    const { spec } = parseNetworkSpec({
      hostname: "node-1",
      nameservers: ["10.5.0.1", "fd00::1"],
      interfaces: [{ name: "eth0", dhcp: false }],
    });
    assertEquals(spec.hostname, "node-1");
    assertEquals(spec.nameservers, ["10.5.0.1", "fd00::1"]);
  });
  for (
    const [spec, want] of [
      [null, "at network: not an object"],
      [{ interfaces: {} }, "network.interfaces: not a list"],
      [{ interfaces: [{}] }, "network.interfaces[0].name: undefined is not"],
      [
        { interfaces: [{ name: "a-very-long-name0" }] },
        '"a-very-long-name0" is not an interface name',
      ],
      [{ interfaces: [{ name: "e", mtu: 20 }] }, "mtu: 20 is not an MTU"],
      [{ interfaces: [{ name: "e", mtu: "1500" }] }, 'mtu: "1500" is not'],
      [
        { interfaces: [{ name: "e" }, { name: "e" }] },
        'interfaces[1].name: interface "e" is listed twice',
      ],
      [
        { interfaces: [{ name: "e", addresses: ["10.0.0.1"] }] },
        'addresses[0]: Cannot parse CIDR "10.0.0.1": missing "/prefix"',
      ],
      [
        {
          interfaces: [{ name: "e", addresses: ["10.0.0.1/8", "10.0.0.1/8"] }],
        },
        'addresses[1]: address "10.0.0.1/8" is listed twice',
      ],
      [
        {
          interfaces: [{
            name: "e",
            routes: [{ network: "10.0.0.0/8", gateway: "fd00::1" }],
          }],
        },
        'routes[0].gateway: "fd00::1" is not in the family of "10.0.0.0/8"',
      ],
      [
        {
          interfaces: [{
            name: "e",
            routes: [{ network: "::/0", metric: -1 }],
          }],
        },
        "routes[0].metric: -1 is not a metric",
      ],
      [
        { interfaces: [{ name: "e", dhcp: true }] },
        "interfaces[0].dhcp: DHCP is not supported",
      ],
      [{ hostname: "no_underscores" }, 'network.hostname: "no_underscores"'],
      [
        { nameservers: ["1.1.1"] },
        'network.nameservers[0]: Cannot parse address "1.1.1"',
      ],
      [{ resolvers: [] }, 'unknown field "resolvers"'],
      [
        {
          interfaces: [{ name: "e", routes: [{ network: "::/0", via: "x" }] }],
        },
        'routes[0]: unknown field "via"',
      ],
    ] as const
  ) {
    await t.step(want, () => {
      assertIncludes(String(assertThrows(() => parseNetworkSpec(spec))), want);
    });
  }
});
