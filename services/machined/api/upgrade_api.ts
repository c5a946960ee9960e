/**
 * Upgrade and Rollback: the bundle is verified and installed before the
 * reply (a refusal says which check failed and nothing is written); the
 * switch to the other release happens once the reply is out.
 * @module
 */
import type { MethodHandlers } from "../../../lib/api/serve.ts";
import { ApiError } from "../../../lib/api_error/mod.ts";
import { UpgradeRefusedError } from "../../../lib/upgrade/mod.ts";
import type { ApiLog } from "./audit.ts";
import { reply } from "./reply.ts";

/** What a switch of release returns. */
export interface ReleaseSwitchResult {
  /** Summary for the reply. */
  ack: string;
  /** Runs after the reply: restart into the new release (absent when staged). */
  after?: () => Promise<void>;
}

/** What the handlers drive (process mode: ReleaseUpgrades). */
export interface UpgradeControl {
  /** Verifies, installs and activates the bundle at `image`. */
  upgrade(
    image: string,
    options: { force: boolean; stage: boolean },
  ): Promise<ReleaseSwitchResult>;
  /** Makes the previous release current. */
  rollback(): Promise<ReleaseSwitchResult>;
}

/** The Upgrade and Rollback handlers; `control` absent: Unimplemented. */
export function upgradeApi(
  control: UpgradeControl | undefined,
  api: ApiLog,
): Pick<MethodHandlers<"machined">, "Upgrade" | "Rollback"> {
  const need = (): UpgradeControl => {
    if (!control) {
      throw new ApiError(
        "Unimplemented",
        "upgrades are not available on this platform yet",
      );
    }
    return control;
  };
  return {
    Upgrade: async (req, ctx) => {
      const c = need();
      api.audit("Upgrade", ctx, {
        image: req.image,
        stage: req.stage,
        force: req.force,
      });
      if (!req.image.startsWith("/")) {
        throw new ApiError(
          "InvalidArgument",
          `image ${
            JSON.stringify(req.image)
          }: expected the absolute path of an upgrade bundle on the node`,
        );
      }
      const r = await c.upgrade(req.image, {
        force: req.force,
        stage: req.stage,
      }).catch(mapError);
      const actorId = crypto.randomUUID();
      if (r.after) api.afterReply(ctx, "upgrade", r.after);
      return reply({ ack: r.ack, actorId });
    },
    Rollback: async (_req, ctx) => {
      const c = need();
      api.audit("Rollback", ctx);
      const r = await c.rollback().catch(mapError);
      if (r.after) api.afterReply(ctx, "rollback", r.after);
      return reply({});
    },
  };
}

function mapError(err: unknown): never {
  if (err instanceof UpgradeRefusedError) {
    throw new ApiError("FailedPrecondition", err.message, { cause: err });
  }
  if (err instanceof Deno.errors.NotFound) {
    throw new ApiError("NotFound", `upgrade bundle not found: ${err.message}`);
  }
  if (err instanceof ApiError) throw err;
  throw new ApiError(
    "FailedPrecondition",
    err instanceof Error ? err.message : String(err),
    { cause: err },
  );
}
