/** The machine's role in the cluster. */
export type MachineType = "controlplane" | "worker";

/** The machine types Bronze knows. */
export const MACHINE_TYPES: readonly MachineType[] = ["controlplane", "worker"];

/** A certificate and (optionally) its key, each a base64-encoded PEM. */
export interface CertificateAndKey {
  /** base64 of the PEM certificate. */
  crt: string;
  /** base64 of the PEM private key (control planes only, for machine.ca). */
  key?: string;
}

/** One static route. */
export interface RouteConfig {
  /** Destination prefix in CIDR notation ("0.0.0.0/0" for the default route). */
  network: string;
  /** Next hop address (same family as `network`). */
  gateway?: string;
  /** Route metric (priority). */
  metric?: number;
}

/** One network link's configuration. */
export interface NetworkInterfaceConfig {
  /** Link name (e.g. "eth0"). */
  name: string;
  /** Addresses with prefix length (CIDR), e.g. "10.5.0.2/24". */
  addresses?: string[];
  /** Static routes through this link. */
  routes?: RouteConfig[];
  /** Link MTU. */
  mtu?: number;
  /** Whether to configure the link with DHCP. */
  dhcp?: boolean;
}

/** machine.network */
export interface NetworkConfig {
  /** The node's hostname. */
  hostname?: string;
  /** Per-link configuration. */
  interfaces?: NetworkInterfaceConfig[];
  /** DNS resolvers (IP addresses). */
  nameservers?: string[];
}

/** machine.install */
export interface InstallConfig {
  /** The install disk, e.g. "/dev/vda". */
  disk?: string;
  /** The installer image reference. */
  image?: string;
  /**
   * Ed25519 public keys (PEM) trusted to sign upgrade bundles, besides
   * the keys the running build trusts.
   */
  trustedKeys?: string[];
}

/** machine.logging */
export interface LoggingConfig {
  /** machined's log level: debug, info (the default), warn or error; applied live. */
  level?: "debug" | "info" | "warn" | "error";
}

/** machine.* */
export interface MachineSection {
  /** controlplane or worker. */
  type: MachineType;
  /** The machine token (`[a-z0-9]{6}.[a-z0-9]{16}`), proven to trustd. */
  token: string;
  /** The OS CA: crt always, key on control planes only. */
  ca: CertificateAndKey;
  /** Extra SANs (IPs or DNS names) for the node's API certificates. */
  certSANs?: string[];
  /** Network settings. */
  network?: NetworkConfig;
  /** Install settings. */
  install?: InstallConfig;
  /** Logging settings. */
  logging?: LoggingConfig;
}

/** cluster.etcd (control planes only): etcd's own PKI, apart from the OS CA. */
export interface EtcdSection {
  /** The etcd CA: certificate and key, both base64 PEM. */
  ca: CertificateAndKey;
}

/** cluster.* */
export interface ClusterSection {
  /** The cluster's name. */
  name: string;
  /** How to reach the control plane. */
  controlPlane: {
    /** Control-plane endpoint: "https://host:port", "host:port" or "host". */
    endpoint: string;
  };
  /** etcd settings (control planes only). */
  etcd?: EtcdSection;
}

/** A v1alpha1 machine config document. */
export interface MachineConfig {
  /** Always "v1alpha1". */
  version: "v1alpha1";
  /** Node-level settings. */
  machine: MachineSection;
  /** Cluster-level settings. */
  cluster: ClusterSection;
}
