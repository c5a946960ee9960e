import {
  assertEquals,
  assertIncludes,
  assertThrows,
} from "../../lib/testing/mod.ts";
import { vmAddresses, vmMac, vmNetworkConfig } from "./qemu_create.ts";

Deno.test("vmAddresses() gives .2, .3, ... and QEMU's .1", () => {
  assertEquals(vmAddresses("10.5.0.0/24", 2), {
    gateway: "10.5.0.1",
    prefix: 24,
    addresses: ["10.5.0.2", "10.5.0.3"],
  });
  assertIncludes(
    String(assertThrows(() => vmAddresses("127.5.0.0/24", 1))),
    "not loopback",
  );
  assertIncludes(
    String(assertThrows(() => vmAddresses("10.5.0.0/29", 6))),
    "Cannot fit 6 VMs",
  );
});

Deno.test("vmNetworkConfig(): a /32 toward QEMU on eth0, the VM network on eth1", () => {
  assertEquals(vmNetworkConfig("n1", "10.5.0.3", 24, "10.5.0.1"), {
    hostname: "n1",
    interfaces: [
      {
        name: "eth0",
        addresses: ["10.5.0.3/32"],
        routes: [{ network: "10.5.0.1/32" }],
      },
      { name: "eth1", addresses: ["10.5.0.3/24"] },
    ],
  });
  assertEquals(vmMac(3, 0x1234), "52:54:00:34:12:03");
});
