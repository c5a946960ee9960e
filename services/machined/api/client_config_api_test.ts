import "reflect-metadata";
import {
  GenerateClientConfigurationRequest,
  GenerateClientConfigurationResponse,
} from "../../../lib/api/gen/machine/machine.ts";
import { Bus, callTyped } from "../../../lib/bus/mod.ts";
import { ApiError } from "../../../lib/api_error/mod.ts";
import {
  contextTls,
  parseClientConfig,
} from "../../../lib/clientconfig/mod.ts";
import {
  HEADER_CALLER,
  HEADER_ROLES,
  rpcSubject,
} from "../../../lib/constants/mod.ts";
import { createLogger } from "../../../lib/log/mod.ts";
import { parseCertificate, verifyCertificate } from "../../../lib/pki/mod.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  startNats,
} from "../../../lib/testing/mod.ts";
import { testMachineConfig } from "../../../tests/machined_harness.ts";
import { serveClientConfigApi } from "./client_config_api.ts";

Deno.test("GenerateClientConfiguration mints client configs on control planes", async (t) => {
  await using nats = await startNats();
  const machined = await Bus.connect(nats.creds("machined"));
  const apid = await Bus.connect(nats.creds("apid"));
  const lines: string[] = [];
  const log = createLogger("machined", {
    sink: { write: (l) => lines.push(l) },
  });
  const cp = await testMachineConfig({ type: "controlplane" });
  const worker = await testMachineConfig({ type: "worker", ca: cp.ca });
  let config = cp.config;
  serveClientConfigApi(
    machined,
    { config: () => config, address: "127.5.0.2" },
    log,
  );
  await machined.flush(); // the subscription is in place before the first call
  const call = (
    roles: string[],
    crtTtlSeconds: number,
    callerRoles = "os:admin",
  ) =>
    callTyped(
      apid,
      rpcSubject("machined", "GenerateClientConfiguration"),
      {
        req: GenerateClientConfigurationRequest,
        res: GenerateClientConfigurationResponse,
      },
      { roles, crtTtlSeconds },
      { headers: { [HEADER_ROLES]: callerRoles, [HEADER_CALLER]: "admin" } },
    );
  const status = async (p: Promise<unknown>) => {
    const err = await assertRejects(() => p);
    assert(err instanceof ApiError, String(err));
    return err.status;
  };
  try {
    await t.step(
      "an admin gets a config with the roles and TTL asked for",
      async () => {
        const reply = await call(["os:reader", "os:operator"], 3600);
        const m = reply.messages[0];
        const cfg = parseClientConfig(
          new TextDecoder().decode(m.osconfig),
          "reply",
        );
        assertEquals(cfg.context, "test");
        assertEquals(cfg.contexts.test.endpoints, ["127.5.0.2"]);
        const tls = contextTls(cfg.contexts.test);
        const info = await parseCertificate(tls.cert);
        assertEquals(info.subject.organizations, ["os:reader", "os:operator"]);
        assertEquals(info.extKeyUsages, ["clientAuth"]);
        const life = info.notAfter.getTime() - Date.now();
        assert(life > 3500_000 && life <= 3600_000, `lifetime ${life} ms`);
        assert(await verifyCertificate(tls.cert, cp.ca.crtPem));
        assertEquals(new TextDecoder().decode(m.crt), tls.cert);
        assert(
          lines.some((l) =>
            l.includes('"msg":"audit"') && l.includes("os:operator")
          ),
        );
        assert(
          !lines.some((l) => l.includes("PRIVATE KEY")),
          "no key in logs",
        );
      },
    );

    await t.step("no TTL means one year", async () => {
      const reply = await call(["os:reader"], 0);
      const info = await parseCertificate(
        new TextDecoder().decode(reply.messages[0].crt),
      );
      const days = (info.notAfter.getTime() - Date.now()) / 86400_000;
      assert(days > 364 && days <= 365, `${days} days`);
    });

    await t.step("refusals", async () => {
      assertEquals(
        await status(call(["os:reader"], 60, "os:operator")),
        "PermissionDenied",
      );
      assertEquals(
        await status(call(["os:impersonator"], 60)),
        "InvalidArgument",
      );
      assertEquals(await status(call(["os:root"], 60)), "InvalidArgument");
      assertEquals(await status(call([], 60)), "InvalidArgument");
      assertEquals(await status(call(["os:admin"], -1)), "InvalidArgument");
      config = worker.config;
      assertEquals(await status(call(["os:admin"], 60)), "FailedPrecondition");
    });
  } finally {
    await apid.close();
    await machined.close();
  }
});
