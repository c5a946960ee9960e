/**
 * networkd as a real process with its documented Deno permissions, against
 * a real nats-server: health, Links/Addresses/Routes matching the kernel.
 */
import { Bus, callTyped } from "../lib/bus/mod.ts";
import { healthSubject, rpcSubject } from "../lib/constants/mod.ts";
import { Empty } from "../lib/api/gen/common/common.ts";
import {
  AddressesResponse,
  HealthRequest,
  HealthResponse,
  LinksResponse,
  RoutesResponse,
} from "../lib/api/gen/machine/machine.ts";
import { Libc, RouteNetlink } from "../lib/ffi/mod.ts";
import {
  assert,
  assertEquals,
  assertIncludes,
  startNats,
  waitUntil,
} from "../lib/testing/mod.ts";

const MAIN = new URL("../services/networkd/main.ts", import.meta.url).pathname;
/** What @grpc/grpc-js reads at import (the generated API code loads it). */
const GRPC_ENV = [
  "GRPC_NODE_VERBOSITY",
  "GRPC_VERBOSITY",
  "GRPC_NODE_TRACE",
  "GRPC_TRACE",
  "GRPC_SSL_CIPHER_SUITES",
  "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH",
  "GRPC_NODE_USE_ALTERNATIVE_RESOLVER",
  "GRPC_EXPERIMENTAL_ENABLE_OUTLIER_DETECTION",
].join(",");

function spawnNetworkd(
  busUrl: string,
  args: string[],
): Deno.ChildProcess {
  const { host } = new URL(busUrl.replace("nats://", "http://"));
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--allow-ffi",
      `--allow-net=${host}`,
      `--allow-env=${GRPC_ENV}`,
      MAIN,
      ...args,
    ],
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
}

async function writeSecrets(child: Deno.ChildProcess, secrets: unknown) {
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(JSON.stringify(secrets)));
  await w.close();
}

async function stopAndCollect(child: Deno.ChildProcess): Promise<string> {
  try {
    child.kill("SIGTERM");
  } catch {
    // already gone
  }
  const [, err] = await Promise.all([
    child.status,
    new Response(child.stderr).text(),
  ]);
  return err;
}

Deno.test("networkd answers health, Links, Addresses, Routes from the kernel", async (t) => {
  await using nats = await startNats();
  const child = spawnNetworkd(nats.url, [
    "--address",
    "127.0.0.1",
    "--hostname",
    "node-1",
  ]);
  let stderr = "";
  try {
    await writeSecrets(child, {
      bus: nats.creds("networkd"),
      // Process mode: compared with the host, never applied.
      network: { interfaces: [{ name: "bronze-none0", mtu: 1400 }] },
    });
    const machined = await Bus.connect(nats.creds("machined"));
    const apid = await Bus.connect(nats.creds("apid"));
    try {
      await t.step("health", async () => {
        const h = await waitUntil(() =>
          callTyped(
            machined,
            healthSubject("networkd"),
            { req: HealthRequest, res: HealthResponse },
            {},
            { timeoutMs: 1000 },
          ), { timeoutMs: 30000, what: "networkd health" });
        assertEquals(h, { service: "networkd", healthy: true, message: "" });
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
    } finally {
      await apid.close();
      await machined.close();
      stderr = await stopAndCollect(child);
    }
    await t.step("process mode only logs a config it cannot apply", () => {
      assertIncludes(stderr, "network config does not match this host");
      assertIncludes(stderr, 'no link named \\"bronze-none0\\"');
    });
  } finally {
    if (!stderr) await stopAndCollect(child);
  }
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
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--no-prompt",
          "--allow-ffi",
          `--allow-env=${GRPC_ENV}`,
          MAIN,
          ...args,
        ],
        stdin: "null",
        stdout: "null",
        stderr: "piped",
        env: { NO_COLOR: "1" },
      }).output();
      assertEquals(out.code, 2);
      assertIncludes(new TextDecoder().decode(out.stderr), want);
    });
  }
});
