import { Buffer } from "node:buffer";
import {
  ApplyConfigurationRequest,
  ApplyConfigurationResponse,
  MachineServiceService,
} from "../../lib/api/gen/machine/machine.ts";
import { Bus, serveTyped } from "../../lib/bus/mod.ts";
import { ApiError } from "../../lib/api_error/mod.ts";
import { HEADER_CALLER, rpcSubject } from "../../lib/constants/mod.ts";
import { TlsChannel } from "../../lib/grpc/mod.ts";
import { createLogger } from "../../lib/log/mod.ts";
import { writeCertDir } from "../../lib/certdir/mod.ts";
import { CertificateAuthority } from "../../lib/pki/mod.ts";
import {
  assert,
  assertEquals,
  assertIncludes,
  assertRejects,
  freePort,
  startNats,
  tempDir,
} from "../../lib/testing/mod.ts";
import { runMaintenanceApid } from "./maintenance.ts";

/** ApplyConfigurationRequest's Bronze fields, unused here. */
const NO_EXTRAS = { tryModeTimeoutMs: 0, force: false, rollback: 0 };

Deno.test("maintenance apid: server-only TLS, ApplyConfiguration forwarded, the rest refused", async (t) => {
  await using nats = await startNats();
  await using dir = await tempDir();
  const ca = await CertificateAuthority.create({ commonName: "maint" });
  const leaf = await ca.issueKeyPair({
    commonName: "node",
    dnsNames: ["bronze-node"],
    ipAddresses: ["127.0.0.1"],
    usages: ["serverAuth"],
    ttlMs: 3600_000,
  });
  await writeCertDir(dir.path, {
    ca: ca.crtPem,
    serverCrt: leaf.crt,
    serverKey: leaf.key,
  });
  const machined = await Bus.connect(nats.creds("machined"));
  const apidBus = await Bus.connect(nats.creds("apid"));
  const seen: Array<{ bytes: number; caller: string }> = [];
  serveTyped(machined, rpcSubject("machined", "ApplyConfiguration"), {
    req: ApplyConfigurationRequest,
    res: ApplyConfigurationResponse,
  }, (req, ctx) => {
    seen.push({ bytes: req.data.length, caller: ctx.headers[HEADER_CALLER] });
    if (req.data.length === 0) {
      return Promise.reject(new ApiError("InvalidArgument", "no config"));
    }
    return Promise.resolve({
      messages: [{
        metadata: undefined,
        warnings: [],
        mode: req.mode,
        modeDetails: "applied",
        diff: "",
      }],
    });
  });
  await machined.flush();
  const port = freePort();
  const ac = new AbortController();
  let listening!: () => void;
  const up = new Promise<void>((r) => (listening = r));
  const running = runMaintenanceApid(
    { address: "127.0.0.1", port, certsDir: dir.path },
    {
      bus: apidBus,
      log: createLogger("apid", { sink: { write: () => {} } }),
      signal: ac.signal,
      onListening: () => listening(),
    },
  );
  await up;
  const channel = new TlsChannel(`127.0.0.1:${port}`, {
    ca: "",
    insecureSkipVerify: true,
  });
  try {
    await t.step(
      "ApplyConfiguration reaches machined over the bus",
      async () => {
        const r = await channel.unary(
          MachineServiceService.applyConfiguration,
          {
            data: Buffer.from("x: 1"),
            mode: "auto",
            dryRun: false,
            ...NO_EXTRAS,
          },
          { timeoutMs: 10_000 },
        );
        assertEquals(r.messages[0].modeDetails, "applied");
        assertEquals(seen, [{ bytes: 4, caller: "maintenance" }]);
      },
    );
    await t.step("machined's refusal comes back with its status", async () => {
      const err = await assertRejects(() =>
        channel.unary(
          MachineServiceService.applyConfiguration,
          { data: Buffer.alloc(0), mode: "auto", dryRun: false, ...NO_EXTRAS },
          { timeoutMs: 10_000 },
        )
      );
      assert(err instanceof ApiError);
      assertEquals([err.status, err.message], ["InvalidArgument", "no config"]);
    });
    await t.step("every other method is PermissionDenied", async () => {
      const err = await assertRejects(() =>
        channel.unary(
          MachineServiceService.reboot,
          {},
          { timeoutMs: 10_000 },
        )
      );
      assert(err instanceof ApiError);
      assertEquals(err.status, "PermissionDenied");
      assertIncludes(err.message, "osctl apply-config --insecure");
    });
    await t.step(
      "a client that verifies the server refuses the certificate",
      async () => {
        const strict = new TlsChannel(`127.0.0.1:${port}`, {
          ca: (await CertificateAuthority.create()).crtPem,
        }, { channelOptions: { "grpc.initial_reconnect_backoff_ms": 20 } });
        try {
          const err = await assertRejects(() =>
            strict.unary(
              MachineServiceService.version,
              { metadata: undefined },
              { timeoutMs: 10_000 },
            )
          );
          assert(err instanceof ApiError);
          assertEquals(err.status, "Unavailable");
        } finally {
          strict.close();
        }
        // grpc-js's reconnect backoff timer (20 ms) outlives close() after a
        // failed handshake; let it fire so the op sanitizer sees no leak.
        await new Promise((r) => setTimeout(r, 200));
      },
    );
  } finally {
    channel.close();
    ac.abort();
    await running;
    await apidBus.close();
    await machined.close();
  }
});
