/**
 * Version and Hostname: what the node is.
 * @module
 */
import type {
  PlatformInfo,
  VersionInfo,
} from "../../../lib/api/gen/machine/machine.ts";
import type { MethodHandlers } from "../../../lib/api/serve.ts";
import { reply } from "./reply.ts";

/** What Version and Hostname read. */
export interface NodeIdentity {
  /** The node's hostname. */
  hostname(): string;
  /** Build and platform facts. */
  version(): { version: VersionInfo; platform: PlatformInfo };
}

/** The Version and Hostname handlers. */
export function versionApi(
  node: NodeIdentity,
): Pick<MethodHandlers<"machined">, "Version" | "Hostname"> {
  return {
    Version: () => {
      const v = node.version();
      return reply({ version: v.version, platform: v.platform });
    },
    Hostname: () => reply({ hostname: node.hostname() }),
  };
}
