/**
 * Each daemon's Deno permission set (lib/layout/daemon_permissions.ts)
 * is what stops it: a probe program run with exactly those flags tries to
 * read other daemons' secrets, dial elsewhere, spawn, and so on.
 */
import { assertEquals, tempDir } from "../lib/testing/mod.ts";
import {
  denoPermissionFlags,
  type PermissionContext,
  type SupervisedDaemon,
} from "../lib/layout/mod.ts";

const PROBE = `
const [dir, address] = Deno.args;
const out = {};
async function attempt(name, fn) {
  try { await fn(); out[name] = "ok"; }
  catch (e) { out[name] = e instanceof Deno.errors.NotCapable ? "denied" : "allowed:" + e.name; }
}
await attempt("read machine config", () => Deno.readTextFile(dir + "/config.yaml"));
await attempt("read CA key", () => Deno.readTextFile(dir + "/ca.key"));
await attempt("read nats.conf", () => Deno.readTextFile(dir + "/run/nats.conf"));
await attempt("read apid certs", () => Deno.readTextFile(dir + "/certs/apid/ca.crt"));
await attempt("read trustd key", () => Deno.readTextFile(dir + "/certs/trustd/server.key"));
await attempt("read /etc/passwd", () => Deno.readTextFile("/etc/passwd"));
await attempt("write state", () => Deno.writeTextFile(dir + "/x", "x"));
await attempt("dial node NATS", async () => (await Deno.connect({ hostname: address, port: 4222 })).close());
await attempt("dial other port", async () => (await Deno.connect({ hostname: address, port: 4223 })).close());
await attempt("dial other host", async () => (await Deno.connect({ hostname: "127.5.100.99", port: 4222 })).close());
await attempt("dial peer apid", async () => (await Deno.connect({ hostname: "127.5.100.98", port: 50000 })).close());
await attempt("listen apid port", () => Deno.listen({ hostname: address, port: 50000 }).close());
await attempt("listen trustd port", () => Deno.listen({ hostname: address, port: 50001 }).close());
await attempt("env HOME", () => Deno.env.get("HOME"));
await attempt("env GRPC_TRACE", () => Deno.env.get("GRPC_TRACE"));
await attempt("run", () => new Deno.Command("/bin/true").output());
await attempt("ffi", () => Deno.dlopen("libc.so.6", {}).close());
console.log(JSON.stringify(out));
`;

async function probe(
  daemon: SupervisedDaemon,
  ctx: PermissionContext,
  script: string,
): Promise<Record<string, string>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--no-config",
      ...denoPermissionFlags(daemon, ctx),
      script,
      ctx.stateDir,
      ctx.address,
    ],
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) {
    throw new Error(
      `probe as ${daemon} failed: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
  return JSON.parse(text);
}

Deno.test("daemon permission sets confine each daemon", async (t) => {
  await using dir = await tempDir();
  const d = dir.path;
  for (const sub of ["run", "certs/apid", "certs/trustd"]) {
    await Deno.mkdir(`${d}/${sub}`, { recursive: true });
  }
  for (
    const f of [
      "config.yaml",
      "ca.key",
      "run/nats.conf",
      "certs/apid/ca.crt",
      "certs/trustd/server.key",
    ]
  ) await Deno.writeTextFile(`${d}/${f}`, "secret");
  const script = `${d}/probe.js`;
  await Deno.writeTextFile(script, PROBE);
  const ctx = (controlPlane: boolean): PermissionContext => ({
    address: "127.5.100.20",
    natsPort: 4222,
    stateDir: d,
    controlPlane,
  });
  // What every daemon is refused.
  const common = {
    "read machine config": "denied",
    "read CA key": "denied",
    "read nats.conf": "denied",
    "read /etc/passwd": "denied",
    "write state": "denied",
    "dial other port": "denied",
    "dial other host": "denied",
    "env HOME": "denied",
    "run": "denied",
    // Allowed: the node's NATS (nothing listens there in this test).
    "dial node NATS": "allowed:ConnectionRefused",
    "env GRPC_TRACE": "ok",
  };

  await t.step(
    "apid (control plane): its certs, its port, peers' apid; no CA key",
    async () => {
      assertEquals(await probe("apid", ctx(true), script), {
        ...common,
        "read apid certs": "ok",
        "read trustd key": "denied",
        "dial peer apid": "allowed:ConnectionRefused",
        "listen apid port": "ok",
        "listen trustd port": "denied",
        "ffi": "denied",
      });
    },
  );
  await t.step("apid (worker): no dialling other nodes", async () => {
    const r = await probe("apid", ctx(false), script);
    assertEquals(r["dial peer apid"], "denied");
    assertEquals(r["read CA key"], "denied");
  });
  await t.step("trustd: its certs and port only", async () => {
    assertEquals(await probe("trustd", ctx(true), script), {
      ...common,
      "read apid certs": "denied",
      "read trustd key": "ok",
      "dial peer apid": "denied",
      "listen apid port": "denied",
      "listen trustd port": "ok",
      "ffi": "denied",
    });
  });
  for (const daemon of ["networkd", "udevd"] as const) {
    await t.step(
      `${daemon}: the bus and FFI, no files of the node`,
      async () => {
        assertEquals(await probe(daemon, ctx(true), script), {
          ...common,
          "read apid certs": "denied",
          "read trustd key": "denied",
          "dial peer apid": "denied",
          "listen apid port": "denied",
          "listen trustd port": "denied",
          "ffi": "ok",
        });
      },
    );
  }
});
