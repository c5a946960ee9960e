/**
 * apid: the node's mTLS gRPC API gateway.
 *
 *   apid --address IP --hostname NAME --certs DIR [--control-plane]
 *        [--port 50000] [--leg-timeout-ms 5000]
 *        [--handshake-timeout-ms 10000] [--idle-timeout-ms 30000]
 *
 * Secrets (bus credentials) arrive on stdin from machined.
 * @module
 */
import { parseFlags, Readiness, runDaemon } from "../../lib/daemon/mod.ts";
import { type ApidOptions, runApid } from "./apid.ts";
import { parseApidFlags } from "./flags.ts";

let options: ApidOptions;
try {
  options = parseApidFlags(
    parseFlags(Deno.args, {
      address: { type: "string" },
      hostname: { type: "string" },
      certs: { type: "string" },
      "control-plane": { type: "boolean", default: false },
      port: { type: "string" },
      "leg-timeout-ms": { type: "string" },
      "handshake-timeout-ms": { type: "string" },
      "idle-timeout-ms": { type: "string" },
    }).values,
  );
} catch (err) {
  console.error(`apid: ${(err as Error).message}`);
  Deno.exit(2);
}

const readiness = new Readiness(
  `waiting for certificates in ${options.certsDir}`,
);
await runDaemon(
  "apid",
  ({ bus, log, signal }) =>
    runApid(options, {
      bus,
      log,
      signal,
      onListening: () => readiness.ready(),
    }),
  { readiness },
);
