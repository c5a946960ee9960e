import { assert, assertEquals } from "../testing/mod.ts";
import { MachineServiceService } from "./gen/machine/machine.ts";
import {
  isMethodName,
  MACHINE_SERVICE_PATH,
  MAINTENANCE_METHODS,
  METHOD_NAMES,
  METHODS,
  methodsOf,
  methodSpec,
} from "./methods.ts";

Deno.test("the method table matches the generated service definition", async (t) => {
  const defined = Object.entries(MachineServiceService).map(([key, m]) => ({
    key,
    name: m.path.slice(m.path.lastIndexOf("/") + 1),
    path: m.path,
    requestStream: m.requestStream,
    responseStream: m.responseStream,
  }));

  await t.step("the same methods, no more, no fewer", () => {
    assertEquals(
      [...METHOD_NAMES].sort(),
      defined.map((m) => m.name).sort(),
    );
  });

  await t.step("streams as streams, no client streams", () => {
    for (const m of defined) {
      assert(isMethodName(m.name), m.name);
      assertEquals(METHODS[m.name].stream, m.responseStream, m.name);
      assertEquals(m.requestStream, false, m.name);
    }
  });

  await t.step("every path is the service path and the name", () => {
    for (const m of defined) {
      assertEquals(m.path, MACHINE_SERVICE_PATH + m.name);
    }
    // serve.ts finds a method's definition by its path: one each.
    assertEquals(new Set(defined.map((m) => m.path)).size, defined.length);
  });
});

Deno.test("methodSpec() knows only the table's own methods", () => {
  assertEquals(methodSpec("Links")?.owner, "networkd");
  assertEquals(methodSpec("Upgrade")?.roles, ["os:admin"]);
  assertEquals(methodSpec("Reset"), undefined);
  assertEquals(methodSpec("toString"), undefined);
  assertEquals(methodSpec("__proto__"), undefined);
});

Deno.test("methodsOf() lists a daemon's methods in table order", () => {
  assertEquals(methodsOf("networkd"), ["Links", "Addresses", "Routes"]);
  assertEquals(methodsOf("udevd"), ["Disks"]);
  assertEquals(methodsOf("trustd"), []);
  assert(methodsOf("machined").includes("GenerateClientConfiguration"));
});

Deno.test("maintenance mode serves ApplyConfiguration and Version only", () => {
  assertEquals(MAINTENANCE_METHODS, ["ApplyConfiguration", "Version"]);
});

Deno.test("every mutating method is closed to readers", () => {
  for (const name of METHOD_NAMES) {
    const spec = METHODS[name];
    if (spec.mutating) {
      assert(!(spec.roles as readonly string[]).includes("os:reader"), name);
    }
  }
});
