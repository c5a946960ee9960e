import { ApiError } from "../../../lib/api_error/mod.ts";
import type { UnaryContext } from "../../../lib/bus/mod.ts";
import { createLogger } from "../../../lib/log/mod.ts";
import {
  assertEquals,
  assertRejects,
  waitUntil,
} from "../../../lib/testing/mod.ts";
import { apiLog } from "./audit.ts";
import { powerApi } from "./power_api.ts";
import { type ServiceControl, servicesApi } from "./services_api.ts";

/** A handler context that keeps the deferred work for the test to run. */
function context(): UnaryContext & { deferred: Array<() => unknown> } {
  const deferred: Array<() => unknown> = [];
  return {
    subject: "machined.rpc.Test",
    headers: { "bronze-caller": "tester", "bronze-roles": "os:operator" },
    signal: new AbortController().signal,
    afterReply: (fn) => void deferred.push(fn),
    deferred,
  };
}

Deno.test("stops, restarts, reboots and shutdowns wait for the reply", async (t) => {
  const done: string[] = [];
  const control: ServiceControl = {
    services: () => [],
    checkService: (id) => {
      if (id === "etcd") throw new ApiError("NotFound", `"${id}" not defined`);
    },
    start: (id) => void done.push(`start ${id}`),
    stop: (id) => Promise.resolve(void done.push(`stop ${id}`)),
    restart: (id) =>
      Promise.reject(new Error(`cannot restart ${id}: the runner is gone`)),
  };
  const lines: string[] = [];
  const log = createLogger("machined", {
    sink: { write: (l) => lines.push(l) },
  });
  const api = apiLog(log);
  const services = servicesApi(control, api);
  const power = powerApi({
    beginReboot: (actor) => () =>
      Promise.resolve(void done.push(`reboot ${actor}`)),
    beginShutdown: (actor) => () =>
      Promise.resolve(void done.push(`shutdown ${actor}`)),
  }, api);

  await t.step("ServiceStart acts at once", async () => {
    const ctx = context();
    const r = await services.ServiceStart({ id: "apid" }, ctx);
    assertEquals(r.messages[0].resp, 'Service "apid" started');
    assertEquals(done, ["start apid"]);
    assertEquals(ctx.deferred.length, 0);
  });

  await t.step("ServiceStop replies first, stops after", async () => {
    const ctx = context();
    const r = await services.ServiceStop({ id: "apid" }, ctx);
    assertEquals(r.messages[0].resp, 'Service "apid" stop requested');
    assertEquals(done, ["start apid"]);
    await ctx.deferred[0]();
    assertEquals(done, ["start apid", "stop apid"]);
  });

  await t.step("a check that fails defers nothing", async () => {
    const ctx = context();
    await assertRejects(
      () => services.ServiceRestart({ id: "etcd" }, ctx),
      ApiError,
      "not defined",
    );
    assertEquals(ctx.deferred.length, 0);
  });

  await t.step("deferred work that fails is logged, not thrown", async () => {
    const ctx = context();
    await services.ServiceRestart({ id: "apid" }, ctx);
    await ctx.deferred[0]();
    await waitUntil(() =>
      lines.some((l) => l.includes("deferred operation failed"))
    );
    const line = JSON.parse(
      lines.find((l) => l.includes("deferred operation failed"))!,
    );
    assertEquals(line.what, "restart apid");
  });

  await t.step(
    "Reboot and Shutdown answer an actor id, act after",
    async () => {
      const ctx = context();
      const r = await power.Reboot({}, ctx);
      const actor = r.messages[0].actorId;
      assertEquals(done.includes(`reboot ${actor}`), false);
      await ctx.deferred[0]();
      assertEquals(done.includes(`reboot ${actor}`), true);
      const s = await power.Shutdown({ force: false }, context());
      assertEquals(s.messages[0].actorId.length > 0, true);
    },
  );

  await t.step("every call that changes the node is audited", () => {
    const audited = lines.map((l) => JSON.parse(l)).filter((l) =>
      l.msg === "audit"
    ).map((l) => `${l.method} ${l.caller} ${l.roles}`);
    assertEquals(audited.slice(0, 2), [
      "ServiceStart tester os:operator",
      "ServiceStop tester os:operator",
    ]);
    assertEquals(audited.filter((a) => a.startsWith("Reboot")).length, 1);
  });
});
