/**
 * apid in maintenance mode, as its own program (bundled into the image as
 * apid-maintenance.js; machined starts it when the node has no config):
 *
 *   apid-maintenance --address IP --hostname NAME --certs DIR [--port 50000]
 *
 * Same Deno permissions as apid. Secrets (bus credentials) arrive on stdin.
 * @module
 */
import { parseFlags, runDaemon } from "../../lib/daemon/mod.ts";
import { parseApidFlags } from "./flags.ts";
import type { ApidOptions } from "./apid.ts";
import { runMaintenanceApid } from "./maintenance.ts";

let options: ApidOptions;
try {
  options = parseApidFlags(
    parseFlags(Deno.args, {
      address: { type: "string" },
      hostname: { type: "string" },
      certs: { type: "string" },
      port: { type: "string" },
    }).values,
  );
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
