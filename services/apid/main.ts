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
import { Readiness, runDaemon } from "../../lib/daemon/mod.ts";
import { type ApidOptions, runApid } from "./apid.ts";
import { parseApidArgs } from "./flags.ts";

let options: ApidOptions;
try {
  options = parseApidArgs(Deno.args);
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
