/**
 * etcd's command line, as machined runs it on a control plane (and tests and
 * benchmarks run a raw etcd): mutual TLS on both ports, every file under the
 * node's state, the URLs on the node's address.
 * @module
 */
import { ETCD_CLIENT_PORT, ETCD_PEER_PORT } from "../constants/mod.ts";

/** Where one member's certificates are (PEM files). */
export interface EtcdCertFiles {
  /** The etcd CA certificate. */
  ca: string;
  /** Client-port server certificate (serverAuth, clientAuth). */
  serverCrt: string;
  /** Its key. */
  serverKey: string;
  /** Peer certificate (serverAuth, clientAuth). */
  peerCrt: string;
  /** Its key. */
  peerKey: string;
}

/** What one member's command line is made from. */
export interface EtcdArgsOptions {
  /** Member name (the node's hostname). */
  name: string;
  /** The data directory. */
  dataDir: string;
  /** The node's address: listened on and advertised. */
  address: string;
  /** Certificate files. */
  certs: EtcdCertFiles;
  /** "new" (bootstrap) or "existing" (join); omitted when the data dir has data. */
  initialClusterState?: "new" | "existing";
  /** `name=peerURL,...` (the whole cluster on a join); default: this member alone. */
  initialCluster?: string;
  /** Client port (default 2379). */
  clientPort?: number;
  /** Peer port (default 2380). */
  peerPort?: number;
}

/** "https://10.5.0.2:2379", brackets around IPv6. */
export function etcdUrl(address: string, port: number): string {
  const host = address.includes(":") ? `[${address}]` : address;
  return `https://${host}:${port}`;
}

/** The member's client URL. */
export function clientUrlOf(address: string, port = ETCD_CLIENT_PORT): string {
  return etcdUrl(address, port);
}

/** The member's peer URL. */
export function peerUrlOf(address: string, port = ETCD_PEER_PORT): string {
  return etcdUrl(address, port);
}

/** etcd's flags for one member. */
export function etcdArgs(o: EtcdArgsOptions): string[] {
  const client = clientUrlOf(o.address, o.clientPort);
  const peer = peerUrlOf(o.address, o.peerPort);
  const args = [
    `--name=${o.name}`,
    `--data-dir=${o.dataDir}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    "--auto-tls=false",
    "--peer-auto-tls=false",
    "--client-cert-auth=true",
    `--trusted-ca-file=${o.certs.ca}`,
    `--cert-file=${o.certs.serverCrt}`,
    `--key-file=${o.certs.serverKey}`,
    "--peer-client-cert-auth=true",
    `--peer-trusted-ca-file=${o.certs.ca}`,
    `--peer-cert-file=${o.certs.peerCrt}`,
    `--peer-key-file=${o.certs.peerKey}`,
    // Talos: a corrupt member is caught at start, not after it served.
    "--experimental-initial-corrupt-check=true",
    "--experimental-watch-progress-notify-interval=5s",
    // No v2 API and no metrics on a plain port: mTLS on both ports only.
    "--enable-v2=false",
  ];
  if (o.initialClusterState) {
    args.push(
      `--initial-cluster-state=${o.initialClusterState}`,
      `--initial-cluster=${o.initialCluster ?? `${o.name}=${peer}`}`,
    );
  }
  return args;
}
