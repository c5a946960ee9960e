/**
 * What the machine API's handlers log: an audit line for every call that
 * changes the node (with the caller and roles apid put in the headers), and
 * the failure of work deferred until a reply is out.
 * @module
 */
import type { HandlerContext, UnaryContext } from "../../../lib/bus/mod.ts";
import { HEADER_CALLER, HEADER_ROLES } from "../../../lib/constants/mod.ts";
import { errorText, type Logger } from "../../../lib/log/mod.ts";

/** The machine API's log. */
export interface ApiLog {
  /** One audit line: the method, who called with which roles, and `fields`. */
  audit(
    method: string,
    ctx: HandlerContext,
    fields?: Record<string, unknown>,
  ): void;
  /** Runs `fn` once the reply is out (lib/bus afterReply), logging a failure. */
  afterReply(ctx: UnaryContext, what: string, fn: () => Promise<void>): void;
}

/** The machine API's log, over machined's logger. */
export function apiLog(log: Logger): ApiLog {
  return {
    audit(method, ctx, fields = {}) {
      log.info("audit", {
        method,
        caller: ctx.headers[HEADER_CALLER] ?? "",
        roles: ctx.headers[HEADER_ROLES] ?? "",
        ...fields,
      });
    },
    afterReply(ctx, what, fn) {
      ctx.afterReply(() =>
        fn().catch((err) =>
          log.error("deferred operation failed", {
            what,
            error: errorText(err),
          })
        )
      );
    },
  };
}
