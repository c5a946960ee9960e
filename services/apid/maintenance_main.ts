/**
 * apid in maintenance mode, as its own program (bundled into the image as
 * apid-maintenance.js; machined starts it when the node has no config):
 *
 *   apid-maintenance --address IP --hostname NAME --certs DIR [--port 50000]
 *
 * Same Deno permissions as apid. Secrets (bus credentials) arrive on stdin.
 * @module
 */
import { parseArgs } from "node:util";
import { runDaemon } from "../../lib/daemon/mod.ts";
import { parseApidFlags } from "./flags.ts";
import { runMaintenanceApid } from "./maintenance.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    address: { type: "string" },
    hostname: { type: "string" },
    certs: { type: "string" },
    port: { type: "string" },
  },
  strict: true,
});
const options = parseApidFlags(values);

await runDaemon(
  "apid",
  ({ bus, log, signal }) =>
    runMaintenanceApid({
      address: options.address,
      port: options.port,
      certsDir: options.certsDir,
    }, { bus, log, signal }),
);
