// Helpers for the trust tests: spawning trustd as a real, least-privileged process.
import { CertificateAuthority } from "../lib/pki/mod.ts";
import { NODE_SERVER_NAME, writeCertDir } from "../lib/certdir/mod.ts";
import type { BusCredentials } from "../lib/bus/mod.ts";
import { waitUntil } from "../lib/testing/mod.ts";
import { LIBRARY_ENV } from "../lib/layout/mod.ts";
import {
  type DaemonProcess,
  natsHostPort,
  startDaemon,
} from "./daemon_process.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** A running trustd process. */
export interface TrustdProcess extends DaemonProcess {
  /** "127.0.0.1:port" */
  address: string;
}

/** Writes trustd's certificate folder with a server cert from `ca`. */
export async function writeTrustdCerts(
  ca: CertificateAuthority,
  dir: string,
  ttlMs = 3600e3,
): Promise<void> {
  const pair = await ca.issueKeyPair({
    commonName: "cp1",
    dnsNames: [NODE_SERVER_NAME],
    ipAddresses: ["127.0.0.1"],
    usages: ["serverAuth"],
    ttlMs,
  });
  await writeCertDir(dir, {
    ca: ca.crtPem,
    serverCrt: pair.crt,
    serverKey: pair.key,
  });
}

/** Starts trustd with only the permissions it needs and waits until it listens. */
export async function startTrustd(options: {
  bus: BusCredentials;
  ca: CertificateAuthority;
  token: string;
  certsDir: string;
  port: number;
  extraArgs?: string[];
}): Promise<TrustdProcess> {
  const trustd = await startDaemon(`${ROOT}services/trustd/main.ts`, {
    denoFlags: [
      "--config",
      `${ROOT}deno.json`,
      `--allow-net=127.0.0.1:${options.port},${natsHostPort(options.bus.url)}`,
      `--allow-read=${options.certsDir}`,
      `--allow-env=${LIBRARY_ENV.join(",")}`,
    ],
    args: [
      "--address",
      "127.0.0.1",
      "--hostname",
      "cp1",
      "--port",
      String(options.port),
      "--certs",
      options.certsDir,
      ...(options.extraArgs ?? []),
    ],
    secrets: {
      bus: options.bus,
      trustd: {
        caCrt: options.ca.crtPem,
        caKey: options.ca.keyPem,
        token: options.token,
      },
    },
  });
  try {
    await waitUntil(
      () => trustd.stderr().includes('"msg":"serving"') || undefined,
      {
        timeoutMs: 30000,
        what: "trustd to serve",
      },
    );
  } catch (err) {
    const log = await trustd.stop();
    throw new Error(`trustd did not start; its log:\n${log}`, { cause: err });
  }
  return { ...trustd, address: `127.0.0.1:${options.port}` };
}
