/**
 * apid's call handling: who is calling and with which roles, whether they
 * may, where the call goes (local, one node, many nodes), and for many nodes
 * the fan-out with per-leg deadlines and the merge of the answers, each item
 * tagged with its node. Bytes pass through; only metadata is decoded.
 * @module
 */
import {
  ApiError,
  boundedMessage,
  toApiError,
} from "../../lib/api_error/mod.ts";
import {
  HEADER_CALLER,
  HEADER_ROLES,
  METADATA_NODE,
  METADATA_NODES,
  METADATA_PROXY_FROM,
} from "../../lib/constants/mod.ts";
import type {
  RawCallContext,
  RawHandlers,
  RawStreamContext,
} from "../../lib/grpc/mod.ts";
import { fanOutStream, fanOutUnary, legTimeoutMs } from "./fanout.ts";
import {
  errorItem,
  joinItems,
  type NodeTag,
  tagItem,
  tagReply,
} from "./reply_merge.ts";
import type { Logger } from "../../lib/log/mod.ts";
import type { Backend, BackendCallOptions } from "./backends.ts";
import { authorize, effectiveRoles, ruleOf } from "./roles.ts";
import { type Route, route, type RouteTarget } from "./router.ts";
import { TIME_METHOD, timedCall } from "./time_stamp.ts";

/** What the proxy is wired to. */
export interface ProxyOptions {
  /** This node, over the bus. */
  local: Backend;
  /** Another node's apid; only called when `canForward`. */
  remote(target: string): Backend;
  /** Control planes forward; workers serve only themselves. */
  canForward: boolean;
  /** Whether a target names this node. */
  isSelf(target: string): boolean;
  /** Deadline of each fan-out leg in ms (default 5000). */
  legTimeoutMs?: number;
  /** Where audit lines go. */
  log: Logger;
  /** This node's hostname (the reference Time answers name). */
  hostname: string;
}

/** Who is calling, after the role rules. */
interface Caller {
  /** Certificate CN (or the original caller's, when forwarded). */
  name: string;
  /** Effective roles. */
  roles: string[];
  /** The peer's address. */
  address: string;
  /** The forwarding apid, when the call came through one. */
  via?: string;
}

const DEFAULT_LEG_TIMEOUT_MS = 5000;

/** The raw handlers apid serves every MachineService method with. */
export class ApidProxy implements RawHandlers {
  #options: ProxyOptions;
  #legTimeoutMs: number;

  /** Makes the proxy. */
  constructor(options: ProxyOptions) {
    this.#options = options;
    this.#legTimeoutMs = options.legTimeoutMs ?? DEFAULT_LEG_TIMEOUT_MS;
  }

  /** Serves a unary call. */
  async unary(request: Uint8Array, ctx: RawCallContext): Promise<Uint8Array> {
    const { caller, where } = this.#admit(ctx);
    const base = { roles: caller.roles, caller: caller.name };
    switch (where.kind) {
      case "local":
        return await this.#unaryTo(this.#options.local, ctx, request, {
          ...base,
          timeoutMs: this.#singleTimeout(ctx),
          signal: ctx.signal,
        });
      case "one":
        return await this.#unaryTo(
          this.#options.remote(where.address ?? where.target),
          ctx,
          request,
          { ...base, timeoutMs: this.#singleTimeout(ctx), signal: ctx.signal },
        );
      case "many": {
        const timeoutMs = legTimeoutMs(this.#legTimeoutMs, ctx.deadline);
        const results = await fanOutUnary(
          where.targets.map((t) => ({
            target: t.name,
            call: (signal: AbortSignal) =>
              this.#unaryTo(this.#backend(t), ctx, request, {
                ...base,
                timeoutMs,
                signal,
              }),
          })),
          { legTimeoutMs: timeoutMs, signal: ctx.signal },
        );
        const items: Uint8Array[] = [];
        for (const r of results) {
          if (!r.ok) {
            items.push(errorItem(failureTag(r.target, r.error)));
            continue;
          }
          try {
            items.push(...tagReply(r.value, { hostname: r.target }));
          } catch (err) {
            items.push(errorItem(failureTag(r.target, malformed(err))));
          }
        }
        return joinItems(items);
      }
    }
  }

  /** Serves a server-streaming call. */
  async stream(request: Uint8Array, ctx: RawStreamContext): Promise<void> {
    const { caller, where } = this.#admit(ctx);
    const base: BackendCallOptions = {
      roles: caller.roles,
      caller: caller.name,
      signal: ctx.signal,
    };
    if (where.kind !== "many") {
      const backend = where.kind === "local"
        ? this.#options.local
        : this.#options.remote(where.address ?? where.target);
      const messages = await backend.stream(ctx.method, request, base);
      ctx.sendHeaders();
      for await (const m of messages) await ctx.send(m);
      return;
    }
    ctx.sendHeaders();
    const merged = fanOutStream(
      where.targets.map((t) => ({
        target: t.name,
        open: (signal: AbortSignal) =>
          this.#backend(t).stream(ctx.method, request, { ...base, signal }),
      })),
      {
        legTimeoutMs: legTimeoutMs(this.#legTimeoutMs, ctx.deadline),
        signal: ctx.signal,
      },
    );
    for await (const event of merged) {
      let item: Uint8Array;
      if ("error" in event) {
        item = errorItem(failureTag(event.target, event.error));
      } else {
        try {
          item = tagItem(event.data, { hostname: event.target });
        } catch (err) {
          item = errorItem(failureTag(event.target, malformed(err)));
        }
      }
      await ctx.send(item);
    }
  }

  /** Identifies the caller, routes the call, checks roles, audits. */
  #admit(ctx: RawCallContext): { caller: Caller; where: Route } {
    const peer = ctx.peer;
    if (!peer) {
      throw new ApiError("Unauthenticated", "a client certificate is required");
    }
    const md = ctx.metadata;
    const impersonator = peer.organizations.includes("os:impersonator");
    const forwardedFrom = impersonator
      ? md[METADATA_PROXY_FROM]?.[0]
      : undefined;
    const caller: Caller = {
      name: (impersonator ? md[HEADER_CALLER]?.[0] : undefined) ??
        peer.commonName,
      roles: effectiveRoles(peer.organizations, md[HEADER_ROLES] ?? []),
      address: peer.address,
      via: forwardedFrom,
    };
    const method = ctx.method.name;
    const rule = ruleOf(method);
    let where: Route;
    try {
      where = route({
        node: md[METADATA_NODE] ?? [],
        nodes: md[METADATA_NODES] ?? [],
        forwarded: forwardedFrom !== undefined,
      }, {
        isSelf: this.#options.isSelf,
        canForward: this.#options.canForward,
      });
      authorize(method, caller.roles);
    } catch (err) {
      if (rule.mutating) this.#audit(caller, method, undefined, err);
      throw err;
    }
    if (rule.mutating) this.#audit(caller, method, where);
    return { caller, where };
  }

  #audit(caller: Caller, method: string, where?: Route, err?: unknown): void {
    const nodes = !where
      ? undefined
      : where.kind === "local"
      ? ["self"]
      : where.kind === "one"
      ? [where.target]
      : where.targets.map((t) => t.name);
    this.#options.log.info("audit", {
      caller: caller.name,
      roles: caller.roles,
      peer: caller.address,
      via: caller.via,
      method,
      nodes,
      allowed: err === undefined,
      error: err === undefined ? undefined : toApiError(err).message,
    });
  }

  /** One unary call to a node; a Time answer gets this apid's clock. */
  async #unaryTo(
    backend: Backend,
    ctx: RawCallContext,
    request: Uint8Array,
    options: BackendCallOptions,
  ): Promise<Uint8Array> {
    const call = () => backend.unary(ctx.method, request, options);
    if (ctx.method.name !== TIME_METHOD) return await call();
    try {
      return await timedCall(this.#options.hostname, call);
    } catch (err) {
      if (err instanceof ApiError) throw err;
      throw malformed(err);
    }
  }

  #backend(target: RouteTarget): Backend {
    return target.self
      ? this.#options.local
      : this.#options.remote(target.address ?? target.name);
  }

  /** A single-target call: the client's deadline, or the default. */
  #singleTimeout(ctx: RawCallContext): number {
    return ctx.deadline === undefined
      ? this.#legTimeoutMs
      : legTimeoutMs(Number.MAX_SAFE_INTEGER, ctx.deadline);
  }
}

function failureTag(target: string, error: ApiError): NodeTag {
  const message = boundedMessage(error.message);
  return {
    hostname: target,
    error: message || error.status,
    status: { code: error.code, message },
  };
}

function malformed(err: unknown): ApiError {
  return new ApiError(
    "Internal",
    `malformed reply: ${err instanceof Error ? err.message : String(err)}`,
  );
}
