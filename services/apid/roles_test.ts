import { assert, assertEquals, assertThrows } from "../../lib/testing/mod.ts";
import { ApiError } from "../../lib/api_error/mod.ts";
import { MachineServiceService } from "../../lib/api/gen/machine/machine.ts";
import {
  authorize,
  effectiveRoles,
  parseRoles,
  ruleOf,
  servedMethods,
} from "./roles.ts";
import { METHODS } from "../../lib/api/mod.ts";
import { type RawMethod, rawMethods } from "../../lib/grpc/mod.ts";

function allowed(method: string, roles: string[]): boolean {
  try {
    authorize(method, roles);
    return true;
  } catch (err) {
    assert(err instanceof ApiError && err.status === "PermissionDenied");
    return false;
  }
}

Deno.test("role table", async (t) => {
  await t.step("covers every MachineService method", () => {
    const methods = Object.values(MachineServiceService).map((m) =>
      m.path.split("/").pop()!
    );
    const missing = methods.filter((m) => !Object.hasOwn(METHODS, m));
    assertEquals(missing, []);
  });

  await t.step(
    "serves exactly the definition's methods, streams as streams",
    () => {
      const byPath = (a: RawMethod, b: RawMethod) =>
        a.path.localeCompare(b.path);
      const machine = servedMethods().filter((m) =>
        m.path.startsWith("/machine.MachineService/")
      );
      assertEquals(
        machine.sort(byPath),
        rawMethods(MachineServiceService).sort(byPath),
      );
    },
  );

  await t.step("serves Talos's other paths of a method too", () => {
    const others = servedMethods().filter((m) =>
      !m.path.startsWith("/machine.MachineService/")
    );
    assertEquals(others, [
      { name: "Time", path: "/time.TimeService/Time", responseStream: false },
    ]);
    const paths = servedMethods().map((m) => m.path);
    assertEquals(new Set(paths).size, paths.length);
  });

  await t.step("admin may call everything", () => {
    for (const m of Object.keys(METHODS)) {
      assert(allowed(m, ["os:admin"]), m);
    }
  });

  await t.step("reader: reads only", () => {
    for (
      const m of [
        "Version",
        "ServiceList",
        "Logs",
        "Events",
        "Dmesg",
        "GetMachineConfig",
      ]
    ) {
      assert(allowed(m, ["os:reader"]), m);
    }
    for (
      const m of [
        "Reboot",
        "Shutdown",
        "ServiceRestart",
        "ServiceStart",
        "ServiceStop",
        "GenerateClientConfiguration",
        "ApplyConfiguration",
      ]
    ) {
      assert(!allowed(m, ["os:reader"]), m);
    }
  });

  await t.step("operator: reads plus reboot, shutdown and services", () => {
    for (
      const m of [
        "Version",
        "Reboot",
        "Shutdown",
        "ServiceStart",
        "ServiceStop",
        "ServiceRestart",
      ]
    ) {
      assert(allowed(m, ["os:operator"]), m);
    }
    assert(!allowed("GenerateClientConfiguration", ["os:operator"]));
    assert(!allowed("ApplyConfiguration", ["os:operator"]));
  });

  await t.step(
    "impersonator alone, no role and unknown roles get nothing",
    () => {
      assert(!allowed("Version", ["os:impersonator"]));
      assert(!allowed("Version", []));
      assert(!allowed("Version", ["os:root"]));
    },
  );

  await t.step("a method with no rule is admin-only and mutating", () => {
    assertEquals(ruleOf("Upgrade").roles, ["os:admin"]);
    assert(ruleOf("Upgrade").mutating);
    assert(!allowed("Upgrade", ["os:operator"]));
    assert(allowed("Upgrade", ["os:admin"]));
    assert(!allowed("toString", ["os:reader"]));
  });

  await t.step("the denial names the method", () => {
    const err = assertThrows(() => authorize("Reboot", ["os:reader"]));
    assert(err instanceof ApiError && err.message.includes("Reboot"));
  });
});

Deno.test("effectiveRoles() believes role metadata only from an impersonator", () => {
  assertEquals(effectiveRoles(["os:reader"], ["os:admin"]), ["os:reader"]);
  assertEquals(
    effectiveRoles(["os:impersonator"], ["os:operator,os:reader"]),
    ["os:operator", "os:reader"],
  );
  assertEquals(effectiveRoles(["os:impersonator"], []), ["os:impersonator"]);
  assertEquals(parseRoles([" os:admin ,, os:reader", "os:admin"]), [
    "os:admin",
    "os:reader",
  ]);
});
