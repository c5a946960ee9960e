/**
 * How many forwarded calls one caller may hold open to one node at a time,
 * by role, so that one authenticated client (a reader included) cannot use
 * up a node's connections for everyone else. The caller is the client
 * certificate's CN; a caller with several roles gets its largest limit.
 * @module
 */
import { ApiError } from "../../lib/api_error/mod.ts";
import type { Role } from "../../lib/constants/mod.ts";
import type { CallKind } from "../../lib/grpc/mod.ts";

/** Per-role limits of calls one caller may hold open to one node. */
export type RoleLimits = Readonly<Partial<Record<Role, number>>>;

/** Limits by kind of call. */
export type CallerLimitTable = Readonly<Record<CallKind, RoleLimits>>;

/** The limits apid forwards with unless told otherwise. */
export const DEFAULT_CALLER_LIMITS: CallerLimitTable = {
  stream: { "os:admin": 64, "os:operator": 32, "os:reader": 16 },
  unary: { "os:admin": 64, "os:operator": 32, "os:reader": 32 },
};

/** Counts each caller's open forwarded calls per node and kind. */
export class CallerLimits {
  #table: CallerLimitTable;
  #open = new Map<string, number>();

  /** Makes the counters; `table` defaults to {@linkcode DEFAULT_CALLER_LIMITS}. */
  constructor(table: CallerLimitTable = DEFAULT_CALLER_LIMITS) {
    this.#table = table;
  }

  /** The most calls of `kind` a caller with `roles` may hold to one node. */
  limitOf(roles: readonly string[], kind: CallKind): number {
    const byRole = this.#table[kind] as Readonly<Record<string, number>>;
    let limit = 0;
    for (const role of roles) {
      if (Object.hasOwn(byRole, role)) limit = Math.max(limit, byRole[role]);
    }
    return limit;
  }

  /**
   * Counts one call of `caller` to `target`; returns the function that ends
   * it (idempotent). Throws ResourceExhausted when the caller already holds
   * its limit.
   */
  take(
    caller: { name: string; roles: readonly string[] },
    target: string,
    kind: CallKind,
  ): () => void {
    const key = `${kind}\u0000${target}\u0000${caller.name}`;
    const open = this.#open.get(key) ?? 0;
    const limit = this.limitOf(caller.roles, kind);
    if (open >= limit) {
      throw new ApiError(
        "ResourceExhausted",
        `too many forwarded ${kind} calls to ${target} from this caller: ${open} open (at most ${limit})`,
      );
    }
    this.#open.set(key, open + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const n = (this.#open.get(key) ?? 1) - 1;
      if (n <= 0) this.#open.delete(key);
      else this.#open.set(key, n);
    };
  }

  /** Callers and nodes with calls open (for tests). */
  get size(): number {
    return this.#open.size;
  }
}
