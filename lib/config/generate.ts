import { ConfigValidationError } from "./errors.ts";
import type { SecretsBundle } from "./secrets.ts";
import type { MachineConfig } from "./types.ts";
import { validateMachineConfig } from "./validate.ts";

/** Options for {@linkcode generateMachineConfigs}. */
export interface GenerateConfigOptions {
  /** The cluster's secrets (CA and token). */
  secrets: SecretsBundle;
  /** Install disk (e.g. "/dev/vda"); omitted when not given. */
  installDisk?: string;
  /** Installer image; omitted when not given. */
  installImage?: string;
  /** Extra certificate SANs for every node. */
  additionalSans?: string[];
}

/**
 * Makes the controlplane and worker configs of a cluster (as `talosctl gen
 * config`): both share token and CA certificate; only the control plane holds
 * the CA key, and the etcd CA (certificate and key) when the
 * secrets have one. Throws ConfigValidationError for a bad name or endpoint.
 */
export function generateMachineConfigs(
  clusterName: string,
  endpoint: string,
  options: GenerateConfigOptions,
): { controlplane: MachineConfig; worker: MachineConfig } {
  const { secrets } = options;
  const make = (type: "controlplane" | "worker"): MachineConfig => {
    const cfg: MachineConfig = {
      version: "v1alpha1",
      machine: {
        type,
        token: secrets.trustdinfo.token,
        ca: type === "controlplane"
          ? { crt: secrets.certs.os.crt, key: secrets.certs.os.key }
          : { crt: secrets.certs.os.crt },
      },
      cluster: { name: clusterName, controlPlane: { endpoint } },
    };
    // etcd runs on control planes only; only they hold its CA.
    const etcd = secrets.certs.etcd;
    if (type === "controlplane" && etcd) {
      cfg.cluster.etcd = { ca: { crt: etcd.crt, key: etcd.key } };
    }
    if (options.additionalSans?.length) {
      cfg.machine.certSANs = [...options.additionalSans];
    }
    if (options.installDisk || options.installImage) {
      cfg.machine.install = {};
      if (options.installDisk) cfg.machine.install.disk = options.installDisk;
      if (options.installImage) {
        cfg.machine.install.image = options.installImage;
      }
    }
    const problems = validateMachineConfig(cfg);
    if (problems.length > 0) throw new ConfigValidationError(problems);
    return cfg;
  };
  return { controlplane: make("controlplane"), worker: make("worker") };
}
