/**
 * The osctl client config (like talosconfig): contexts with endpoints,
 * nodes and a client certificate; parsing, saving (0600), locating
 * (--osconfig, $OSCONFIG, ~/.osctl/config), minting and merging.
 * @module
 */
export type { ClientConfig, ClientContext } from "./types.ts";
export {
  loadClientConfig,
  parseClientConfig,
  saveClientConfig,
  stringifyClientConfig,
} from "./parse.ts";
export { clientConfigPath } from "./path.ts";
export type { ClientConfigPathOptions } from "./path.ts";
export { contextTls, mintClientConfig } from "./mint.ts";
export type { MintClientConfigOptions } from "./mint.ts";
export { mergeClientConfigs } from "./merge.ts";
