/**
 * networkd's reconciler against a real kernel, inside a network namespace
 * this test makes (root only): apply, read back, re-apply, change, refuse.
 */
import { Libc } from "../lib/ffi/mod.ts";
import { RouteNetlink } from "../lib/netlink/mod.ts";
import {
  applyNetworkConfig,
  BRONZE_NETLINK_PROTO,
} from "../services/networkd/apply_network.ts";
import {
  assert,
  assertEquals,
  assertIncludes,
  assertRejects,
} from "../lib/testing/mod.ts";

const IS_ROOT = Deno.uid() === 0;
if (!IS_ROOT) {
  console.error(
    "networkd_netns_test: skipped: network namespaces need root (run as root)",
  );
}

async function ip(args: string[]): Promise<string> {
  const out = await new Deno.Command("ip", { args, stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(
      `ip ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
  return new TextDecoder().decode(out.stdout);
}

interface IpAddrJson {
  ifname: string;
  mtu: number;
  flags: string[];
  addr_info: Array<{ local: string; prefixlen: number }>;
}
interface IpRouteJson {
  dst: string;
  gateway?: string;
  dev?: string;
  metric?: number;
  protocol?: string;
}

/** What iproute2 sees in the namespace: an independent reading. */
async function snapshot(ns: string): Promise<{
  links: Record<string, { mtu: number; up: boolean; addrs: string[] }>;
  routes: string[];
}> {
  const addrs = JSON.parse(
    await ip(["-n", ns, "-j", "addr", "show"]),
  ) as IpAddrJson[];
  const links: Record<string, { mtu: number; up: boolean; addrs: string[] }> =
    {};
  for (const l of addrs) {
    links[l.ifname] = {
      mtu: l.mtu,
      up: l.flags.includes("UP"),
      addrs: l.addr_info.map((a) => `${a.local}/${a.prefixlen}`).sort(),
    };
  }
  const routes: string[] = [];
  for (const fam of ["-4", "-6"]) {
    const list = JSON.parse(
      await ip(["-n", ns, "-j", fam, "route", "show", "table", "main"]),
    ) as IpRouteJson[];
    for (const r of list) {
      routes.push(
        `${r.dst} via ${r.gateway ?? "-"} dev ${r.dev} metric ${
          r.metric ?? 0
        } proto ${r.protocol ?? "-"}`,
      );
    }
  }
  return { links, routes: routes.sort() };
}

const SPEC = {
  interfaces: [
    {
      name: "vb0",
      mtu: 1400,
      addresses: ["10.201.0.2/24", "fd77::2/64"],
      routes: [
        { network: "10.202.0.0/16", gateway: "10.201.0.1", metric: 100 },
        { network: "0.0.0.0/0", gateway: "10.201.0.1" },
        { network: "fd78::/48", gateway: "fd77::1" },
      ],
    },
    { name: "vb1", addresses: ["10.201.0.1/24"] },
  ],
};

Deno.test({
  name: "applyNetworkConfig() reconciles a network namespace",
  ignore: !IS_ROOT,
  fn: async (t) => {
    const ns = `bronze-test-${crypto.randomUUID().slice(0, 8)}`;
    await ip(["netns", "add", ns]);
    try {
      await ip([
        "-n",
        ns,
        "link",
        "add",
        "vb0",
        "type",
        "veth",
        "peer",
        "name",
        "vb1",
      ]);
      using libc = Libc.open();
      using nl = RouteNetlink.open(libc, { netnsPath: `/run/netns/${ns}` });

      await t.step("the socket reads the namespace, not the host", async () => {
        const names = (await nl.links()).map((l) => l.name).sort();
        assertEquals(names, ["lo", "vb0", "vb1"]);
      });

      await t.step("dry run reports and changes nothing", async () => {
        const before = await snapshot(ns);
        const report = await applyNetworkConfig(SPEC, nl, { dryRun: true });
        assert(!report.unchanged);
        assertIncludes(
          report.changes.join("\n"),
          'set mtu of "vb0" 1500 -> 1400',
        );
        assertEquals(await snapshot(ns), before);
      });

      await t.step(
        "first apply sets MTU, state, addresses, routes",
        async () => {
          const report = await applyNetworkConfig(SPEC, nl);
          const text = report.changes.join("\n");
          for (
            const want of [
              'set mtu of "vb0" 1500 -> 1400',
              'bring "vb0" up',
              'bring "vb1" up',
              'add address 10.201.0.2/24 to "vb0"',
              'add address fd77::2/64 to "vb0"',
              'add address 10.201.0.1/24 to "vb1"',
              'add route 10.202.0.0/16 via 10.201.0.1 metric 100 dev "vb0"',
              'add route 0.0.0.0/0 via 10.201.0.1 metric 1024 dev "vb0"',
              'add route fd78::/48 via fd77::1 metric 1024 dev "vb0"',
            ]
          ) assertIncludes(text, want);
          const s = await snapshot(ns);
          assertEquals(s.links.vb0.mtu, 1400);
          assert(s.links.vb0.up && s.links.vb1.up);
          assert(s.links.vb0.addrs.includes("10.201.0.2/24"));
          assert(s.links.vb0.addrs.includes("fd77::2/64"));
          assert(s.links.vb1.addrs.includes("10.201.0.1/24"));
          const p = String(BRONZE_NETLINK_PROTO);
          for (
            const want of [
              `10.202.0.0/16 via 10.201.0.1 dev vb0 metric 100 proto ${p}`,
              `default via 10.201.0.1 dev vb0 metric 1024 proto ${p}`,
              `fd78::/48 via fd77::1 dev vb0 metric 1024 proto ${p}`,
            ]
          ) {
            assert(
              s.routes.includes(want),
              `${want} not in ${s.routes.join("; ")}`,
            );
          }
        },
      );

      await t.step("second apply changes nothing", async () => {
        const before = await snapshot(ns);
        const report = await applyNetworkConfig(SPEC, nl);
        assertEquals(report, { changes: [], unchanged: true });
        assertEquals(await snapshot(ns), before);
      });

      await t.step(
        "a changed spec removes only what networkd added",
        async () => {
          // Someone else's address and route stay.
          await ip(["-n", ns, "addr", "add", "10.201.0.50/24", "dev", "vb0"]);
          await ip([
            "-n",
            ns,
            "route",
            "add",
            "10.203.0.0/16",
            "via",
            "10.201.0.1",
          ]);
          const spec = structuredClone(SPEC);
          spec.interfaces[0].mtu = 1300;
          spec.interfaces[0].addresses = ["10.201.0.2/24"];
          spec.interfaces[0].routes = [{
            network: "0.0.0.0/0",
            gateway: "10.201.0.1",
          }];
          const report = await applyNetworkConfig(spec, nl);
          assertEquals(report.changes.sort(), [
            'delete address fd77::2/64 from "vb0"',
            'delete route 10.202.0.0/16 via 10.201.0.1 metric 100 dev "vb0"',
            'delete route fd78::/48 via fd77::1 metric 1024 dev "vb0"',
            'set mtu of "vb0" 1400 -> 1300',
          ]);
          const s = await snapshot(ns);
          assertEquals(s.links.vb0.mtu, 1300);
          assert(!s.links.vb0.addrs.includes("fd77::2/64"));
          assert(s.links.vb0.addrs.includes("10.201.0.50/24"));
          assert(
            s.routes.some((r) => r.startsWith("10.203.0.0/16 via 10.201.0.1")),
          );
          assert(!s.routes.some((r) => r.startsWith("10.202.0.0/16")));
          assertEquals((await applyNetworkConfig(spec, nl)).unchanged, true);
        },
      );

      await t.step("a bad spec is refused and changes nothing", async (t2) => {
        const before = await snapshot(ns);
        const cases: Array<[string, unknown, string]> = [
          [
            "invalid CIDR",
            { interfaces: [{ name: "vb0", addresses: ["10.201.0.9/33"] }] },
            'network.interfaces[0].addresses[0]: Cannot parse CIDR "10.201.0.9/33": prefix length out of range',
          ],
          [
            "unknown link",
            {
              interfaces: [
                { name: "vb0", mtu: 1280, addresses: ["10.201.0.9/24"] },
                { name: "vb9", addresses: ["10.201.1.9/24"] },
              ],
            },
            'no link named "vb9"',
          ],
          [
            "route with host bits",
            {
              interfaces: [{
                name: "vb0",
                routes: [{ network: "10.9.0.1/16", gateway: "10.201.0.1" }],
              }],
            },
            'network.interfaces[0].routes[0].network: "10.9.0.1/16" has host bits set',
          ],
          [
            "unknown field",
            { interfaces: [{ name: "vb0", bond: {} }] },
            'unknown field "bond"',
          ],
        ];
        for (const [name, spec, want] of cases) {
          await t2.step(name, async () => {
            const err = await assertRejects(() => applyNetworkConfig(spec, nl));
            assertIncludes(String(err), want);
            assertEquals(await snapshot(ns), before);
          });
        }
      });

      await t.step("a kernel refusal names the change and errno", async () => {
        const spec = structuredClone(SPEC);
        spec.interfaces[0].routes = [
          { network: "10.204.0.0/16", gateway: "10.99.0.1" },
        ];
        const err = await assertRejects(() => applyNetworkConfig(spec, nl));
        const text = String((err as Error).cause ?? err);
        assertIncludes(
          String(err),
          '(add route 10.204.0.0/16 via 10.99.0.1 metric 1024 dev "vb0") failed',
        );
        assertIncludes(text, "ENETUNREACH");
      });
    } finally {
      await ip(["netns", "del", ns]).catch((err) =>
        console.error(`cannot delete ${ns}: ${err}`)
      );
    }
  },
});
