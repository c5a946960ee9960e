/**
 * Version and Hostname: what the node is.
 * @module
 */
import type {
  PlatformInfo,
  VersionInfo,
} from "../../../lib/api/gen/machine/machine.ts";
import type { MethodHandlers } from "../../../lib/api/serve.ts";
import type { Metadata } from "../../../lib/api/gen/common/common.ts";

function self(node: NodeIdentity): Metadata {
  return { hostname: node.hostname(), error: "", status: undefined };
}

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
    // Both name the node in their metadata, for a caller that named no
    // target (apid puts the target's name there for those that did): a
    // hostname changed live shows at once.
    Version: () => {
      const v = node.version();
      return Promise.resolve({
        messages: [{
          metadata: self(node),
          version: v.version,
          platform: v.platform,
        }],
      });
    },
    Hostname: () =>
      Promise.resolve({
        messages: [{ metadata: self(node), hostname: node.hostname() }],
      }),
  };
}
