/**
 * Live network changes against a real kernel (root only): networkd as a
 * real process with --apply on a network namespace this test makes
 * (--netns), its bus a real nats-server on 127.17.2.1; machined's update
 * on networkd.config.network adds and removes an address and a route and
 * changes the MTU, a second update changes nothing, a bad one is refused
 * and leaves the last good state.
 */
import { Bus } from "../lib/bus/mod.ts";
import { NETWORK_CONFIG_SUBJECT } from "../lib/constants/mod.ts";
import {
  assert,
  assertEquals,
  assertIncludes,
  startNats,
  waitUntil,
} from "../lib/testing/mod.ts";
import {
  GRPC_ENV,
  natsHostPort,
  startDaemon,
  waitForHealth,
} from "./daemon_process.ts";

const IS_ROOT = Deno.uid() === 0;
const MAIN = new URL("../services/networkd/main.ts", import.meta.url).pathname;

async function ip(args: string[]): Promise<string> {
  const out = await new Deno.Command("ip", { args, stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(
      `ip ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
  return new TextDecoder().decode(out.stdout);
}

/** What iproute2 sees in the namespace: vb0's MTU, addresses and routes. */
async function seen(ns: string): Promise<
  { mtu: number; addrs: string[]; routes: string[] }
> {
  const links = JSON.parse(await ip(["-n", ns, "-j", "addr", "show", "vb0"]));
  const routes = JSON.parse(
    await ip(["-n", ns, "-j", "-4", "route", "show", "table", "main"]),
  ) as Array<{ dst: string; gateway?: string }>;
  return {
    mtu: links[0].mtu,
    addrs: (links[0].addr_info as Array<{ local: string; prefixlen: number }>)
      .filter((a) => !a.local.startsWith("fe80"))
      .map((a) => `${a.local}/${a.prefixlen}`).sort(),
    routes: routes.map((r) => `${r.dst} via ${r.gateway ?? "-"}`).sort(),
  };
}

const SPEC_A = {
  interfaces: [
    {
      name: "vb0",
      addresses: ["10.203.0.2/24"],
      routes: [{ network: "10.204.0.0/16", gateway: "10.203.0.1" }],
    },
    { name: "vb1", addresses: ["10.203.0.1/24"] },
  ],
};

const SPEC_B = {
  interfaces: [
    {
      name: "vb0",
      mtu: 1400,
      addresses: ["10.203.0.3/24"],
      routes: [{ network: "10.205.0.0/16", gateway: "10.203.0.1" }],
    },
    { name: "vb1", addresses: ["10.203.0.1/24"] },
  ],
};

Deno.test({
  name: "networkd reconciles live network changes in a namespace",
  ignore: !IS_ROOT,
}, async (t) => {
  const ns = `bronze-live-${crypto.randomUUID().slice(0, 8)}`;
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
    await using nats = await startNats("127.17.2.1");
    await using networkd = await startDaemon(MAIN, {
      denoFlags: [
        "--allow-ffi",
        `--allow-env=${GRPC_ENV}`,
        `--allow-net=${natsHostPort(nats.url)}`,
      ],
      args: [
        "--address",
        "10.203.0.2",
        "--hostname",
        "live-1",
        "--apply",
        "--netns",
        `/run/netns/${ns}`,
      ],
      secrets: { bus: nats.creds("networkd"), network: SPEC_A },
    });
    const machined = await Bus.connect(nats.creds("machined"));
    const send = async (network: unknown) =>
      JSON.parse(
        new TextDecoder().decode(
          await machined.request(
            NETWORK_CONFIG_SUBJECT,
            new TextEncoder().encode(JSON.stringify({ network })),
            { timeoutMs: 15_000 },
          ),
        ),
      );
    try {
      await t.step("the first boot's spec is applied", async () => {
        assertEquals(
          (await waitForHealth(machined, "networkd")).healthy,
          true,
          networkd.stderr(),
        );
        await waitUntil(
          async () => (await seen(ns)).addrs.includes("10.203.0.2/24"),
          {
            timeoutMs: 10_000,
          },
        );
        const s = await seen(ns);
        assert(
          s.routes.includes("10.204.0.0/16 via 10.203.0.1"),
          s.routes.join(),
        );
      });

      await t.step(
        "an update adds and removes an address and a route, sets the MTU",
        async () => {
          const reply = await send(SPEC_B);
          assertEquals(reply.applied, true);
          const text = reply.changes.join("\n");
          for (
            const want of [
              'set mtu of "vb0" 1500 -> 1400',
              'add address 10.203.0.3/24 to "vb0"',
              "10.203.0.2/24",
              "10.205.0.0/16",
              "10.204.0.0/16",
            ]
          ) assertIncludes(text, want);
          const s = await seen(ns);
          assertEquals(s.mtu, 1400);
          assertEquals(s.addrs, ["10.203.0.3/24"]);
          assert(
            s.routes.includes("10.205.0.0/16 via 10.203.0.1"),
            s.routes.join(),
          );
          assert(
            !s.routes.includes("10.204.0.0/16 via 10.203.0.1"),
            s.routes.join(),
          );
        },
      );

      await t.step("the same update again changes nothing", async () => {
        const before = await seen(ns);
        assertEquals(await send(SPEC_B), { changes: [], applied: true });
        assertEquals(await seen(ns), before);
      });

      await t.step(
        "a bad update is refused; the last good state stays",
        async () => {
          const before = await seen(ns);
          const err = await send({
            interfaces: [{ name: "vb0", addresses: ["10.203.0.300/24"] }],
          }).catch((e) => e);
          assert(err instanceof Error, "a bad spec was accepted");
          assertIncludes(err.message, "10.203.0.300/24");
          assertEquals(await seen(ns), before);
        },
      );
    } finally {
      await machined.close();
    }
  } finally {
    await ip(["netns", "del", ns]).catch(() => {});
  }
});
