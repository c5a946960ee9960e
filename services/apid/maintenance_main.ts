/**
 * apid in maintenance mode, as its own program (bundled into the image as
 * apid-maintenance.js; machined starts it when the node has no config):
 *
 *   apid-maintenance --address IP --hostname NAME --certs DIR [--port 50000]
 *
 * Same Deno permissions as apid. Secrets (bus credentials) arrive on stdin.
 * @module
 */
import { runDaemon } from "../../lib/daemon/mod.ts";
import { parseApidArgs } from "./flags.ts";
import type { ApidOptions } from "./apid.ts";
import { runMaintenanceApid } from "./maintenance.ts";

let options: ApidOptions;
try {
  options = parseApidArgs(Deno.args, { maintenance: true });
} catch (err) {
  console.error(`apid: ${(err as Error).message}`);
  Deno.exit(2);
}

await runDaemon(
  "apid",
  ({ bus, log, signal }) =>
    runMaintenanceApid({
      address: options.address,
      port: options.port,
      certsDir: options.certsDir,
    }, { bus, log, signal }),
);
