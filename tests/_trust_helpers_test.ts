// Helpers for the trust tests: spawning trustd as a real, least-privileged process.
import { CertificateAuthority } from "../lib/pki/mod.ts";
import { writeCertDir } from "../lib/nodecerts/mod.ts";
import { NODE_SERVER_NAME } from "../lib/grpc/mod.ts";
import type { BusCredentials } from "../lib/bus/mod.ts";
import { waitUntil } from "../lib/testing/mod.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** Environment variables the libraries read at import (grpc-js, yaml, lib/log). */
export const LIBRARY_ENV = [
  "GRPC_NODE_VERBOSITY",
  "GRPC_VERBOSITY",
  "GRPC_NODE_TRACE",
  "GRPC_TRACE",
  "GRPC_NODE_USE_ALTERNATIVE_RESOLVER",
  "GRPC_EXPERIMENTAL_ENABLE_OUTLIER_DETECTION",
  "GRPC_SSL_CIPHER_SUITES",
  "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH",
  "grpc_proxy",
  "https_proxy",
  "http_proxy",
  "no_grpc_proxy",
  "no_proxy",
  "LOG_TOKENS",
  "LOG_STREAM",
  "BRONZE_LOG_LEVEL",
].join(",");

/** A running trustd process. */
export interface TrustdProcess extends AsyncDisposable {
  /** "127.0.0.1:port" */
  address: string;
  /** Everything it wrote to stderr so far (JSON log lines). */
  stderr(): string;
  /** The process. */
  child: Deno.ChildProcess;
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
  const natsHostPort = options.bus.url.replace("nats://", "");
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--config",
      `${ROOT}deno.json`,
      `--allow-net=127.0.0.1:${options.port},${natsHostPort}`,
      `--allow-read=${options.certsDir}`,
      `--allow-env=${LIBRARY_ENV}`,
      `${ROOT}services/trustd/main.ts`,
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
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let log = "";
  const drained = (async () => {
    for await (
      const chunk of child.stderr.pipeThrough(new TextDecoderStream())
    ) {
      log += chunk;
    }
  })();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(JSON.stringify({
    bus: options.bus,
    trustd: {
      caCrt: options.ca.crtPem,
      caKey: options.ca.keyPem,
      token: options.token,
    },
  })));
  await w.close();
  const dispose = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // already gone
    }
    await child.status;
    await drained;
  };
  try {
    await waitUntil(() => log.includes('"msg":"serving"') || undefined, {
      timeoutMs: 30000,
      what: "trustd to serve",
    });
  } catch (err) {
    await dispose();
    throw new Error(`trustd did not start; its log:\n${log}`, { cause: err });
  }
  return {
    address: `127.0.0.1:${options.port}`,
    stderr: () => log,
    child,
    [Symbol.asyncDispose]: dispose,
  };
}
