/**
 * The network an image-mode node comes up with: the config's interfaces,
 * else the kernel's `ip=`, else QEMU user networking's defaults (10.0.2.15/24
 * via 10.0.2.2 on eth0); and the node address, which nats-server's peers,
 * apid and the certificates use: the first IPv4 address configured.
 * @module
 */
import type {
  NetworkConfig,
  NetworkInterfaceConfig,
} from "../../../lib/config/mod.ts";
import type { KernelIp } from "./kernel_args.ts";

/** QEMU's user-mode (slirp) network: guest address and gateway. */
export const QEMU_USER_NETWORK: KernelIp = {
  cidr: "10.0.2.15/24",
  gateway: "10.0.2.2",
  device: "eth0",
};

/** The network section to apply and the node address that follows from it. */
export interface NetworkPlan {
  /** What networkd applies. */
  network: NetworkConfig;
  /** The node address (no prefix). */
  address: string;
  /** Where the interfaces came from. */
  source: "config" | "kernel ip=" | "QEMU user-network default";
  /** The links networkd needs to exist before it starts. */
  links: string[];
  /** Where the node address is: its link and CIDR as configured. */
  home: { link: string; cidr: string };
}

function fromKernelIp(ip: KernelIp): NetworkInterfaceConfig {
  return {
    name: ip.device,
    addresses: [ip.cidr],
    routes: ip.gateway ? [{ network: "0.0.0.0/0", gateway: ip.gateway }] : [],
  };
}

/**
 * Plans the network from the config's section (may be undefined in
 * maintenance mode) and the kernel's `ip=`. Throws when the config's
 * interfaces carry no IPv4 address to serve on.
 */
export function planNetwork(
  section: NetworkConfig | undefined,
  kernelIp: KernelIp | undefined,
): NetworkPlan {
  const configured = section?.interfaces ?? [];
  let interfaces: NetworkInterfaceConfig[];
  let source: NetworkPlan["source"];
  if (configured.length > 0) {
    interfaces = configured;
    source = "config";
  } else if (kernelIp) {
    interfaces = [fromKernelIp(kernelIp)];
    source = "kernel ip=";
  } else {
    interfaces = [fromKernelIp(QEMU_USER_NETWORK)];
    source = "QEMU user-network default";
  }
  const home = interfaces.flatMap((i) =>
    (i.addresses ?? []).map((cidr) => ({ link: i.name, cidr }))
  ).find((h) => /^\d+\.\d+\.\d+\.\d+\//.test(h.cidr));
  const address = home?.cidr.split("/")[0];
  if (!home || !address) {
    throw new Error(
      `Cannot pick the node address: the ${source} interfaces (${
        interfaces.map((i) => i.name).join(", ")
      }) have no static IPv4 address (DHCP is not supported)`,
    );
  }
  return {
    network: {
      ...section,
      hostname: section?.hostname ?? kernelIp?.hostname,
      interfaces,
    },
    address,
    source,
    links: interfaces.map((i) => i.name),
    home,
  };
}
