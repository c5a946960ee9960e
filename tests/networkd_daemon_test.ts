/**
 * networkd as a real process with its documented Deno permissions, against
 * a real nats-server: health, Links/Addresses/Routes matching the kernel.
 */
import { Bus, callTyped } from "../lib/bus/mod.ts";
import { NETWORK_CONFIG_SUBJECT, rpcSubject } from "../lib/constants/mod.ts";
import { Empty } from "../lib/api/gen/common/common.ts";
import {
  AddressesResponse,
  LinksResponse,
  RoutesResponse,
} from "../lib/api/gen/machine/machine.ts";
import { Libc } from "../lib/ffi/mod.ts";
import { RouteNetlink } from "../lib/netlink/mod.ts";
import {
  assert,
  assertEquals,
  assertIncludes,
  startNats,
} from "../lib/testing/mod.ts";
import {
  GRPC_ENV,
  natsHostPort,
  runDaemonToExit,
  startDaemon,
  waitForHealth,
} from "./daemon_process.ts";

const MAIN = new URL("../services/networkd/main.ts", import.meta.url).pathname;
/** The Deno permissions networkd's main.ts documents, but the bus. */
const PERMISSIONS = ["--allow-ffi", `--allow-env=${GRPC_ENV}`];

Deno.test("networkd answers health, Links, Addresses, Routes from the kernel", async (t) => {
  await using nats = await startNats();
  await using networkd = await startDaemon(MAIN, {
    denoFlags: [...PERMISSIONS, `--allow-net=${natsHostPort(nats.url)}`],
    args: ["--address", "127.0.0.1", "--hostname", "node-1"],
    secrets: {
      bus: nats.creds("networkd"),
      // Process mode: compared with the host, never applied.
      network: { interfaces: [{ name: "bronze-none0", mtu: 1400 }] },
    },
  });
  const machined = await Bus.connect(nats.creds("machined"));
  const apid = await Bus.connect(nats.creds("apid"));
  try {
    await t.step("health", async () => {
      assertEquals(await waitForHealth(machined, "networkd"), {
        service: "networkd",
        healthy: true,
        message: "",
      });
    });
    using libc = Libc.open();
    using nl = RouteNetlink.open(libc);

    await t.step(
      "Links: one message, no metadata, lo as the kernel says",
      async () => {
        const res = await callTyped(apid, rpcSubject("networkd", "Links"), {
          req: Empty,
          res: LinksResponse,
        }, Empty.create());
        assertEquals(res.messages.length, 1);
        assertEquals(res.messages[0].metadata, undefined);
        const kernel = await nl.links();
        assertEquals(
          res.messages[0].links.map((l) => `${l.index}:${l.name}:${l.mtu}`)
            .sort(),
          kernel.map((l) => `${l.index}:${l.name}:${l.mtu}`).sort(),
        );
        const lo = res.messages[0].links.find((l) => l.name === "lo");
        assert(lo);
        assertIncludes(lo.flags.join(","), "LOOPBACK");
        assertEquals(lo.hardwareAddr, "00:00:00:00:00:00");
      },
    );

    await t.step("Addresses include lo 127.0.0.1/8", async () => {
      const res = await callTyped(apid, rpcSubject("networkd", "Addresses"), {
        req: Empty,
        res: AddressesResponse,
      }, Empty.create());
      const addrs = res.messages[0].addresses;
      assert(
        addrs.some((a) =>
          a.link === "lo" && a.address === "127.0.0.1/8" &&
          a.family === "inet" && a.scope === "host"
        ),
        JSON.stringify(addrs),
      );
      assertEquals(addrs.length, (await nl.addresses()).length);
    });

    await t.step("Routes include the local 127.0.0.0/8 route", async () => {
      const res = await callTyped(apid, rpcSubject("networkd", "Routes"), {
        req: Empty,
        res: RoutesResponse,
      }, Empty.create());
      const routes = res.messages[0].routes;
      assert(
        routes.some((r) =>
          r.destination === "127.0.0.0/8" && r.link === "lo" &&
          r.table === 255
        ),
      );
      assertEquals(routes.length, (await nl.routes()).length);
    });

    await t.step(
      "a live network update is reconciled (compared, in process mode)",
      async () => {
        const send = (bus: Bus, body: string) =>
          bus.request(NETWORK_CONFIG_SUBJECT, new TextEncoder().encode(body), {
            timeoutMs: 10_000,
          });
        const lo = (await nl.links()).find((l) => l.name === "lo")!;
        const reply = JSON.parse(
          new TextDecoder().decode(
            await send(
              machined,
              JSON.stringify({
                network: { interfaces: [{ name: "lo", mtu: lo.mtu }] },
              }),
            ),
          ),
        );
        assertEquals(reply, { changes: [], applied: false });
        const moved = JSON.parse(
          new TextDecoder().decode(
            await send(
              machined,
              JSON.stringify({
                network: { interfaces: [{ name: "lo", mtu: lo.mtu - 1 }] },
              }),
            ),
          ),
        );
        assertEquals(moved.applied, false);
        assertEquals(moved.changes.length, 1, JSON.stringify(moved));
        assertIncludes(moved.changes[0], "mtu");
        const bad = await send(machined, "{").catch((e) => e);
        assert(bad instanceof Error);
        assertIncludes(bad.message, "not JSON");
        const odd = await send(machined, '{"links":[]}').catch((e) => e);
        assertIncludes(String(odd), 'unknown field "links"');
        // Only machined may hand networkd a config.
        const refused = await send(apid, "{}").catch((e) => e);
        assert(refused instanceof Error, "apid sent a network update");
      },
    );
  } finally {
    await apid.close();
    await machined.close();
  }
  const stderr = await networkd.stop();
  await t.step("process mode only logs a config it cannot apply", () => {
    assertIncludes(stderr, "network config does not match this host");
    assertIncludes(stderr, 'no link named \\"bronze-none0\\"');
  });
});

Deno.test("networkd refuses unknown and bad flags", async (t) => {
  for (
    const [args, want] of [
      [["--address", "127.0.0.1", "--hostname", "n", "--bogus"], "--bogus"],
      [["--address", "127.0.0.300", "--hostname", "n"], '"127.0.0.300"'],
      [["--hostname", "n"], "--address is required"],
      [["--address", "127.0.0.1", "--hostname", "bad_name"], '"bad_name"'],
    ] as const
  ) {
    await t.step(args.join(" "), async () => {
      const out = await runDaemonToExit(MAIN, {
        denoFlags: PERMISSIONS,
        args,
      });
      assertEquals(out.code, 2);
      assertIncludes(out.stderr, want);
    });
  }
});
