import { Libc } from "../ffi/mod.ts";
import { RouteNetlink } from "./route_netlink.ts";
import { NetlinkError } from "./netlink_socket.ts";
import { assert, assertEquals, assertRejects } from "../testing/mod.ts";

interface IpLink {
  ifindex: number;
  ifname: string;
  mtu: number;
  address?: string;
}
interface IpAddr {
  ifindex: number;
  addr_info: Array<{ family: string; local: string; prefixlen: number }>;
}

async function ipJson<T>(args: string[]): Promise<T> {
  const out = await new Deno.Command("ip", { args: ["-j", ...args] }).output();
  if (!out.success) throw new Error(`ip ${args.join(" ")} failed`);
  return JSON.parse(new TextDecoder().decode(out.stdout)) as T;
}

Deno.test("RouteNetlink dumps what iproute2 sees", async (t) => {
  using libc = Libc.open();
  using nl = RouteNetlink.open(libc);

  await t.step("links (name, index, MTU, MAC)", async () => {
    const [mine, theirs] = await Promise.all([
      nl.links(),
      ipJson<IpLink[]>(["link", "show"]),
    ]);
    const pick = (name: string, index: number, mtu: number, mac: string) =>
      `${index} ${name} ${mtu} ${mac}`;
    assertEquals(
      mine.map((l) => pick(l.name, l.index, l.mtu, l.hardwareAddr)).sort(),
      theirs.map((l) => pick(l.ifname, l.ifindex, l.mtu, l.address ?? ""))
        .sort(),
    );
    const lo = mine.find((l) => l.name === "lo");
    assert(lo, "no lo link");
    assert(lo.flags.includes("LOOPBACK"));
  });

  await t.step("addresses, including lo 127.0.0.1/8", async () => {
    const [mine, theirs] = await Promise.all([
      nl.addresses(),
      ipJson<IpAddr[]>(["addr", "show"]),
    ]);
    const want = theirs.flatMap((l) =>
      l.addr_info.map((a) => `${l.ifindex} ${a.local}/${a.prefixlen}`)
    ).sort();
    assertEquals(mine.map((a) => `${a.index} ${a.address}`).sort(), want);
    const lo = mine.find((a) => a.address === "127.0.0.1/8");
    assert(lo, "no 127.0.0.1/8");
    assertEquals(lo.scope, "host");
  });

  await t.step("routes: main table as `ip route` shows it", async () => {
    const mine = await nl.routes();
    const theirs = await ipJson<Array<{ dst: string; dev?: string }>>([
      "-4",
      "route",
      "show",
      "table",
      "main",
    ]);
    const main4 = mine.filter((r) => r.family === "inet" && r.table === 254);
    assertEquals(main4.length, theirs.length);
    assert(
      mine.some((r) => r.destination === "127.0.0.0/8" && r.table === 255),
    );
  });

  await t.step("concurrent requests are serialised on one socket", async () => {
    const [a, b, c] = await Promise.all([
      nl.links(),
      nl.addresses(),
      nl.routes(),
    ]);
    assert(a.length > 0 && b.length > 0 && c.length > 0);
  });

  await t.step("a refused change is a NetlinkError with errno", async () => {
    const err = await assertRejects(() =>
      nl.setLink({ index: 0x7ffffff0, up: true })
    );
    assert(err instanceof NetlinkError, String(err));
    assert(err.code === "ENODEV" || err.code === "EPERM", err.message);
    assert(err.message.startsWith("Cannot set link 2147483632 up"));
  });
});
