/** Where a node finds trustd: the control-plane endpoint's host on TRUSTD_PORT. @module */
import { parseEndpoint } from "../../../lib/config/mod.ts";
import { TRUSTD_PORT } from "../../../lib/constants/mod.ts";

/**
 * trustd endpoints from the config's control-plane endpoint: its host on
 * TRUSTD_PORT (DNS names are left for grpc-js to resolve, all addresses).
 */
export function trustdEndpointsOf(
  controlPlaneEndpoint: string,
  port: number = TRUSTD_PORT,
): string[] {
  const { host } = parseEndpoint(controlPlaneEndpoint);
  return [host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`];
}
