// Shared fixtures for lib/config tests (not a test file itself: no Deno.test).
import type { MachineConfig } from "./types.ts";

const b64 = (s: string): string => btoa(s);

/** A PEM-shaped certificate (contents are not parsed by lib/config). */
export const CA_CRT = b64(
  "-----BEGIN CERTIFICATE-----\nMIIBfzCCASWgAwIBAgIQdGVzdA==\n-----END CERTIFICATE-----\n",
);
/** A PEM-shaped private key. */
export const CA_KEY = b64(
  "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIHRlc3Q=\n-----END PRIVATE KEY-----\n",
);
/** A PEM-shaped private key for the etcd CA (differs from CA_KEY). */
export const ETCD_KEY = b64(
  "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIGV0Y2Q=\n-----END PRIVATE KEY-----\n",
);
/** A valid machine token. */
export const TOKEN = "abc123.0123456789abcdef";

/** A valid control-plane config with every optional section. */
export function goodConfig(): MachineConfig {
  return {
    version: "v1alpha1",
    machine: {
      type: "controlplane",
      token: TOKEN,
      ca: { crt: CA_CRT, key: CA_KEY },
      certSANs: ["10.5.0.2", "cp1.example.org"],
      network: {
        hostname: "cp1",
        interfaces: [{
          name: "eth0",
          addresses: ["10.5.0.2/24", "fd00::2/64"],
          routes: [{ network: "0.0.0.0/0", gateway: "10.5.0.1", metric: 1024 }],
          mtu: 1500,
        }],
        nameservers: ["1.1.1.1", "2606:4700:4700::1111"],
      },
      install: { disk: "/dev/vda", image: "bronze/installer:v0.1.0" },
    },
    cluster: {
      name: "demo",
      controlPlane: { endpoint: "https://10.5.0.2:6443" },
      etcd: { ca: { crt: CA_CRT, key: ETCD_KEY } },
    },
  };
}
