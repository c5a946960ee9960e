/**
 * Reboot and Shutdown: each is checked and claimed before the reply, and
 * carried out once the reply is out.
 * @module
 */
import type { MethodHandlers } from "../../../lib/api/serve.ts";
import type { ApiLog } from "./audit.ts";
import { reply } from "./reply.ts";

/** What the power handlers control. */
export interface PowerControl {
  /**
   * Checks that a reboot may begin (throws ApiError), claims it, and
   * returns the reboot itself, to run once the reply is out.
   */
  beginReboot(actor: string): () => Promise<void>;
  /** Returns the shutdown, to run once the reply is out. */
  beginShutdown(actor: string): () => Promise<void>;
}

/** The Reboot and Shutdown handlers. */
export function powerApi(
  power: PowerControl,
  api: ApiLog,
): Pick<MethodHandlers<"machined">, "Reboot" | "Shutdown"> {
  return {
    Reboot: (_req, ctx) => {
      api.audit("Reboot", ctx);
      const actorId = crypto.randomUUID();
      api.afterReply(ctx, "reboot", power.beginReboot(actorId));
      return reply({ actorId });
    },
    Shutdown: (req, ctx) => {
      api.audit("Shutdown", ctx, { force: req.force });
      const actorId = crypto.randomUUID();
      api.afterReply(ctx, "shutdown", power.beginShutdown(actorId));
      return reply({ actorId });
    },
  };
}
