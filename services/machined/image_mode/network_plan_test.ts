import {
  assertEquals,
  assertIncludes,
  assertThrows,
} from "../../../lib/testing/mod.ts";
import { planNetwork } from "./network_plan.ts";

Deno.test("planNetwork() picks interfaces and the node address", async (t) => {
  await t.step(
    "the config's interfaces win; the first IPv4 is the address",
    () => {
      const plan = planNetwork({
        hostname: "n1",
        interfaces: [
          { name: "eth0", addresses: ["fd00::2/64", "10.5.0.2/32"] },
          { name: "eth1", addresses: ["10.5.0.2/24"] },
        ],
      }, { cidr: "1.2.3.4/24", device: "eth0" });
      assertEquals(plan.address, "10.5.0.2");
      assertEquals(plan.home, { link: "eth0", cidr: "10.5.0.2/32" });
      assertEquals(plan.source, "config");
      assertEquals(plan.links, ["eth0", "eth1"]);
      assertEquals(plan.network.hostname, "n1");
    },
  );
  await t.step("no interfaces: the kernel's ip=, with its hostname", () => {
    const plan = planNetwork(undefined, {
      cidr: "10.9.0.5/24",
      gateway: "10.9.0.1",
      hostname: "k1",
      device: "eth0",
    });
    assertEquals(plan.address, "10.9.0.5");
    assertEquals(plan.network.hostname, "k1");
    assertEquals(plan.network.interfaces, [{
      name: "eth0",
      addresses: ["10.9.0.5/24"],
      routes: [{ network: "0.0.0.0/0", gateway: "10.9.0.1" }],
    }]);
  });
  await t.step("nothing: QEMU user networking", () => {
    const plan = planNetwork({ hostname: "x" }, undefined);
    assertEquals(plan.address, "10.0.2.15");
    assertEquals(plan.source, "QEMU user-network default");
  });
  await t.step("interfaces without IPv4 are refused", () => {
    const err = assertThrows(() =>
      planNetwork({ interfaces: [{ name: "eth0", dhcp: true }] }, undefined)
    );
    assertIncludes(String(err), "DHCP is not supported");
  });
});
