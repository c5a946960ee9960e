/**
 * trustd: signs node server certificates for workers that prove the machine
 * token (security.SecurityService/Certificate, TLS on port 50001).
 *
 *   trustd --address IP --hostname NAME --certs DIR [--port 50001]
 *          [--max-ttl SECONDS] [--rate-burst N] [--rate-per-minute N]
 *
 * Secrets (CA certificate and key, machine token) arrive on stdin from
 * machined: {"bus": {...}, "trustd": {"caCrt", "caKey", "token"}}.
 */
import { parseFlags, Readiness, runDaemon } from "../../lib/daemon/mod.ts";
import { ipFamily } from "../../lib/netaddr/mod.ts";
import { TRUSTD_PORT } from "../../lib/constants/mod.ts";
import { runTrustd, type TrustdSettings } from "./run.ts";

function fail(message: string): never {
  console.error(`trustd: ${message}`);
  Deno.exit(2);
}

function settingsFrom(args: string[]): TrustdSettings {
  let v;
  try {
    v = parseFlags(args, {
      address: { type: "string" },
      hostname: { type: "string" },
      certs: { type: "string" },
      port: { type: "string" },
      "max-ttl": { type: "string" },
      "rate-burst": { type: "string" },
      "rate-per-minute": { type: "string" },
    }).values;
  } catch (err) {
    fail((err as Error).message);
  }
  const int = (name: string, value: string | undefined, def: number) => {
    if (value === undefined) return def;
    if (!/^[1-9][0-9]{0,8}$/.test(value)) {
      fail(`--${name} ${JSON.stringify(value)}: expected a positive integer`);
    }
    return Number(value);
  };
  if (!v.address || ipFamily(v.address) === undefined) {
    fail(
      `--address ${JSON.stringify(v.address ?? "")}: expected an IP address`,
    );
  }
  if (!v.certs) fail("--certs DIR is required");
  const port = int("port", v.port, TRUSTD_PORT);
  if (port > 65535) fail(`--port ${port}: out of range`);
  return {
    address: v.address,
    hostname: v.hostname ?? v.address,
    certsDir: v.certs,
    port,
    maxTtlMs: int("max-ttl", v["max-ttl"], 24 * 3600) * 1000,
    rateBurst: int("rate-burst", v["rate-burst"], 10),
    ratePerMinute: int("rate-per-minute", v["rate-per-minute"], 30),
  };
}

const settings = settingsFrom(Deno.args);
const readiness = new Readiness(
  `waiting for certificates in ${settings.certsDir}`,
);
await runDaemon(
  "trustd",
  ({ log, signal, secrets }) =>
    runTrustd(settings, {
      log,
      signal,
      extra: secrets.extra,
      onServing: () => readiness.ready(),
    }),
  { readiness },
);
