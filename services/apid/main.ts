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
import { parseArgs } from "node:util";
import { runDaemon } from "../../lib/daemon/mod.ts";
import { runApid } from "./apid.ts";
import { parseApidFlags } from "./flags.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    address: { type: "string" },
    hostname: { type: "string" },
    certs: { type: "string" },
    "control-plane": { type: "boolean", default: false },
    port: { type: "string" },
    "leg-timeout-ms": { type: "string" },
    "handshake-timeout-ms": { type: "string" },
    "idle-timeout-ms": { type: "string" },
  },
  strict: true,
});
const options = parseApidFlags(values);

await runDaemon(
  "apid",
  ({ bus, log, signal }) => runApid(options, { bus, log, signal }),
);
