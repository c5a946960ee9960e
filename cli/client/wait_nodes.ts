/**
 * `reboot --wait` and `shutdown --wait`: the progress of every target node,
 * one line per change ("down", "back"), until each is back (or down) or the
 * time runs out. Each node is asked on its own (`nodes: [node]`), so one that
 * is slow or gone never holds up the others' lines.
 * @module
 */
import {
  type Event,
  EventsRequest,
  MachineServiceService,
} from "../../lib/api/gen/machine/machine.ts";
import type { CommandContext } from "../command.ts";
import { ApiClient } from "./api_client.ts";
import { resolveClientContext } from "./context.ts";
import { errorLine } from "./errors.ts";
import { formatDuration } from "./output.ts";

/** One node to follow, with a client that targets only it. */
export interface WaitTarget {
  /** The node as the operator named it. */
  node: string;
  /** Calls to this node only. */
  client: ApiClient;
  /** The action's actor ID on this node; none when the node refused it. */
  actorId?: string;
  /** The boot the node was in before the action (from its event IDs). */
  bootBefore?: string;
}

/** Where an action went: what its reply acknowledged, node by node. */
export interface ActorMessage {
  /** Which node answered. */
  metadata?: { hostname: string; error: string } | undefined;
  /** The action's ID there. */
  actorId: string;
}

/** Options for the waits. */
export interface WaitOptions {
  /** Give up after this long (ms). */
  timeoutMs: number;
  /** Time between polls (ms, default 1000). */
  intervalMs?: number;
}

const CALL_MS = 5000;

/** A client per target node of `api` (its endpoint's node when none is given). */
export async function waitTargets(
  ctx: CommandContext,
  api: Pick<ApiClient, "nodes" | "defaultNode">,
): Promise<WaitTarget[]> {
  const resolved = await resolveClientContext(ctx.globals);
  const nodes = api.nodes;
  const fallback = api.defaultNode;
  if (nodes.length === 0) {
    return [{
      node: fallback,
      client: new ApiClient({ ...resolved, nodes: [] }),
    }];
  }
  return nodes.map((node) => ({
    node,
    client: new ApiClient({ ...resolved, nodes: [node] }),
  }));
}

/** A node's whole event history (throws when the node does not answer). */
export async function eventHistory(
  client: ApiClient,
  signal: AbortSignal,
): Promise<Event[]> {
  const call = AbortSignal.any([signal, AbortSignal.timeout(CALL_MS)]);
  const events: Event[] = [];
  for await (
    const e of client.stream(
      MachineServiceService.events,
      EventsRequest.fromPartial({ tailEvents: -1, follow: false }),
      { signal: call },
    )
  ) {
    if (e.metadata?.error) throw new Error(e.metadata.error);
    events.push(e);
  }
  return events;
}

/** The boot an event ID belongs to ("4d81b727" of "4d81b727-33"). */
export function bootOf(id: string): string {
  const i = id.lastIndexOf("-");
  return i < 0 ? id : id.slice(0, i);
}

/**
 * Whether a node's history shows it back after the action `actorId`: the
 * action's sequence stopped after it started (a reboot in place), or a new
 * boot (not `bootBefore`) reached the end of a sequence (a real reboot).
 */
export function backAfter(
  events: readonly Event[],
  action: { actorId: string; bootBefore?: string },
): Event | undefined {
  const { actorId, bootBefore } = action;
  const last = events.at(-1);
  if (last && bootBefore !== undefined && bootOf(last.id) !== bootBefore) {
    return events.findLast((e) =>
      bootOf(e.id) === bootOf(last.id) && e.type === "sequence" &&
      e.state === "stop"
    );
  }
  const start = events.findIndex((e) =>
    e.type === "sequence" && e.state === "start" &&
    e.message.includes(`(actor ${actorId})`)
  );
  if (start < 0) return undefined;
  const name = events[start].message.split(":")[0];
  return events.slice(start + 1).find((e) =>
    e.type === "sequence" && e.state === "stop" &&
    e.message.split(":")[0] === name
  );
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** Where progress goes: stdout for tables, stderr beside JSON/YAML. */
function progressWriter(ctx: CommandContext): (line: string) => void {
  return ctx.globals.output === "table"
    ? (line) => ctx.io.stdout(line + "\n")
    : (line) => ctx.io.stderr(line + "\n");
}

/** Notes the boot each target is in now (left unset where it does not answer). */
export async function noteBoots(
  targets: readonly WaitTarget[],
  signal: AbortSignal,
): Promise<void> {
  await Promise.all(targets.map(async (t) => {
    try {
      const last = (await eventHistory(t.client, signal)).at(-1);
      t.bootBefore = last ? bootOf(last.id) : undefined;
    } catch {
      t.bootBefore = undefined;
    }
  }));
}

/** Gives each target the actor ID its node acknowledged (if it did). */
export function noteActors(
  targets: readonly WaitTarget[],
  reply: { messages: readonly ActorMessage[] },
  fallback: string,
): void {
  const good = reply.messages.filter((m) => !m.metadata?.error);
  // One target answering directly may name itself by its hostname.
  if (targets.length === 1 && good.length === 1) {
    targets[0].actorId = good[0].actorId;
    return;
  }
  for (const m of good) {
    const node = m.metadata?.hostname || fallback;
    const t = targets.find((x) => x.node === node);
    if (t) t.actorId = m.actorId;
  }
}

/**
 * Follows each rebooting node until it is back; returns 0 when all are,
 * 1 when one was not within the timeout.
 */
export async function waitForReboot(
  ctx: CommandContext,
  targets: readonly WaitTarget[],
  options: WaitOptions,
): Promise<number> {
  const say = progressWriter(ctx);
  const started = Date.now();
  const deadline = started + options.timeoutMs;
  const results = await Promise.all(targets.map(async (t) => {
    const actor = t.actorId;
    if (actor === undefined) return true; // it failed; already reported
    say(`${t.node}: rebooting (actor ${actor})`);
    let phase = "rebooting";
    while (!ctx.signal.aborted && Date.now() < deadline) {
      try {
        const events = await eventHistory(t.client, ctx.signal);
        const back = backAfter(events, {
          actorId: actor,
          bootBefore: t.bootBefore,
        });
        if (back) {
          say(
            `${t.node}: back: ${back.message} (${
              formatDuration(Date.now() - started)
            })`,
          );
          return true;
        }
        if (phase === "down") {
          phase = "booting";
          say(`${t.node}: answering again, services starting`);
        }
      } catch (err) {
        if (phase !== "down") {
          phase = "down";
          say(`${t.node}: down (${errorLine(err)})`);
        }
      }
      await sleep(options.intervalMs ?? 1000, ctx.signal);
    }
    if (!ctx.signal.aborted) {
      say(
        `${t.node}: not back after ${
          formatDuration(options.timeoutMs)
        } (last seen: ${phase})`,
      );
    }
    return false;
  }));
  return results.every(Boolean) ? 0 : 1;
}

/**
 * Follows each node shutting down until it no longer answers (twice in a
 * row, a second apart); returns 0 when all are down, 1 otherwise.
 */
export async function waitForShutdown(
  ctx: CommandContext,
  targets: readonly WaitTarget[],
  options: WaitOptions,
): Promise<number> {
  const say = progressWriter(ctx);
  const started = Date.now();
  const deadline = started + options.timeoutMs;
  const results = await Promise.all(targets.map(async (t) => {
    const actor = t.actorId;
    if (actor === undefined) return true;
    say(`${t.node}: shutting down (actor ${actor})`);
    let misses = 0;
    while (!ctx.signal.aborted && Date.now() < deadline) {
      try {
        const reply = await t.client.unary(MachineServiceService.version, {
          metadata: undefined,
        }, { signal: ctx.signal, timeoutMs: CALL_MS });
        const error = reply.messages.find((m) => m.metadata?.error)?.metadata
          ?.error;
        if (error) throw new Error(error);
        misses = 0;
      } catch (err) {
        if (++misses >= 2) {
          say(
            `${t.node}: down: ${errorLine(err)} (${
              formatDuration(Date.now() - started)
            })`,
          );
          return true;
        }
      }
      await sleep(options.intervalMs ?? 1000, ctx.signal);
    }
    if (!ctx.signal.aborted) {
      say(
        `${t.node}: still answering after ${formatDuration(options.timeoutMs)}`,
      );
    }
    return false;
  }));
  return results.every(Boolean) ? 0 : 1;
}
