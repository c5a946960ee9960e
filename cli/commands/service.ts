/**
 * `osctl service [ID [start|stop|restart|status]]`: list services, show one,
 * or act on one, on every target node.
 */
import {
  MachineServiceService,
  type ServiceInfo,
  ServiceListResponse,
  ServiceRestartResponse,
  ServiceStartResponse,
  ServiceStopResponse,
} from "../../lib/api/gen/machine/machine.ts";
import type { Command, CommandContext } from "../command.ts";
import { UsageError } from "../command.ts";
import { parseCommandArgs } from "../client/args.ts";
import type { ApiClient } from "../client/api_client.ts";
import {
  formatDuration,
  formatTable,
  reportNodeErrors,
} from "../client/output.ts";
import { nodeOf, splitReplies } from "../client/reply.ts";
import { printStructured, withApiClient } from "../client/session.ts";
import { validIdsText, withValidIds } from "../client/service_ids.ts";

const USAGE = `Usage: osctl service [ID [start|stop|restart|status]]
       osctl services

Without ID: lists the services of every target node.
With ID: shows one service (status), or starts, stops or restarts it.`;

const ACTIONS = ["start", "stop", "restart", "status"] as const;
type Action = typeof ACTIONS[number];

/** "OK", "Fail" or "?" as talosctl prints a service's health. */
export function healthText(s: ServiceInfo): string {
  if (!s.health || s.health.unknown) return "?";
  return s.health.healthy ? "OK" : "Fail";
}

function lastEvent(s: ServiceInfo): { msg: string; ts: number } | undefined {
  const e = s.events.at(-1);
  if (!e) return undefined;
  return { msg: e.msg, ts: Date.parse(e.ts) };
}

/** Rows of the services table: NODE SERVICE STATE HEALTH LAST CHANGE LAST EVENT. */
export function servicesTable(
  rows: { node: string; services: readonly ServiceInfo[] }[],
  now: number = Date.now(),
): string {
  const body: string[][] = [];
  for (const { node, services } of rows) {
    for (const s of services) {
      const e = lastEvent(s);
      body.push([
        node,
        s.id,
        s.state,
        healthText(s),
        e && Number.isFinite(e.ts) ? `${formatDuration(now - e.ts)} ago` : "",
        e?.msg ?? "",
      ]);
    }
  }
  return formatTable(
    ["NODE", "SERVICE", "STATE", "HEALTH", "LAST CHANGE", "LAST EVENT"],
    body,
  );
}

function serviceDetail(
  node: string,
  s: ServiceInfo,
  now: number = Date.now(),
): string {
  const rows = [
    ["NODE", node],
    ["ID", s.id],
    ["STATE", s.state],
    ["HEALTH", healthText(s)],
  ];
  if (s.health?.lastMessage) {
    rows.push(["LAST HEALTH MESSAGE", s.health.lastMessage]);
  }
  const events = [...s.events].reverse().map((e) => {
    const ts = Date.parse(e.ts);
    const age = Number.isFinite(ts) ? ` (${formatDuration(now - ts)} ago)` : "";
    return `[${e.state}]: ${e.msg}${age}`;
  });
  events.forEach((e, i) => rows.push([i === 0 ? "EVENTS" : "", e]));
  return formatTable(rows[0], rows.slice(1));
}

async function list(ctx: CommandContext, api: ApiClient): Promise<number> {
  const reply = await api.unary(
    MachineServiceService.serviceList,
    { metadata: undefined },
    { signal: ctx.signal },
  );
  const { good, errors } = splitReplies(reply.messages, api.defaultNode);
  if (!printStructured(ctx, ServiceListResponse, reply)) {
    ctx.io.stdout(
      servicesTable(good.map((m) => ({
        node: nodeOf(m, api.defaultNode),
        services: m.services,
      }))),
    );
  }
  return reportNodeErrors(ctx.io, errors);
}

async function status(
  ctx: CommandContext,
  api: ApiClient,
  id: string,
): Promise<number> {
  const reply = await api.unary(
    MachineServiceService.serviceList,
    { metadata: undefined },
    { signal: ctx.signal },
  );
  const { good, errors } = splitReplies(reply.messages, api.defaultNode);
  const found: { node: string; service: ServiceInfo }[] = [];
  for (const m of good) {
    const node = nodeOf(m, api.defaultNode);
    const s = m.services.find((x) => x.id === id);
    if (s) found.push({ node, service: s });
    else {
      errors.push({
        node,
        error: `service "${id}" is not registered${
          validIdsText(m.services.map((x) => x.id))
        }`,
      });
    }
  }
  if (
    !printStructured(ctx, ServiceListResponse, {
      messages: good.map((m) => ({
        ...m,
        services: m.services.filter((s) => s.id === id),
      })),
    })
  ) {
    ctx.io.stdout(
      found.map((f) => serviceDetail(f.node, f.service)).join("\n"),
    );
  }
  return reportNodeErrors(ctx.io, errors);
}

async function act(
  ctx: CommandContext,
  api: ApiClient,
  id: string,
  action: Exclude<Action, "status">,
): Promise<number> {
  const opts = { signal: ctx.signal };
  let reply:
    | ServiceStartResponse
    | ServiceStopResponse
    | ServiceRestartResponse;
  let printed: boolean;
  switch (action) {
    case "start":
      reply = await api.unary(MachineServiceService.serviceStart, { id }, opts);
      printed = printStructured(ctx, ServiceStartResponse, reply);
      break;
    case "stop":
      reply = await api.unary(MachineServiceService.serviceStop, { id }, opts);
      printed = printStructured(ctx, ServiceStopResponse, reply);
      break;
    case "restart":
      reply = await api.unary(
        MachineServiceService.serviceRestart,
        { id },
        opts,
      );
      printed = printStructured(ctx, ServiceRestartResponse, reply);
      break;
  }
  const split = splitReplies(reply.messages, api.defaultNode);
  const { good } = split;
  const errors = await withValidIds(api, split.errors, ctx);
  if (!printed) {
    ctx.io.stdout(
      formatTable(
        ["NODE", "RESPONSE"],
        good.map((m) => [nodeOf(m, api.defaultNode), m.resp]),
      ),
    );
  }
  return reportNodeErrors(ctx.io, errors);
}

async function run(args: string[], ctx: CommandContext): Promise<number> {
  const { positionals } = parseCommandArgs(args, {});
  if (positionals.length > 2) {
    throw new UsageError(`unexpected argument "${positionals[2]}"`);
  }
  const [id, actionArg] = positionals;
  const action = (actionArg ?? "status") as Action;
  if (!ACTIONS.includes(action)) {
    throw new UsageError(
      `unknown action "${actionArg}" (start, stop, restart, status)`,
    );
  }
  return await withApiClient(ctx, (api) => {
    if (id === undefined) return list(ctx, api);
    if (action === "status") return status(ctx, api, id);
    return act(ctx, api, id, action);
  });
}

/** The service command (alias: services). */
export const serviceCommand: Command = {
  name: "service",
  aliases: ["services"],
  summary: "List services, or show, start, stop or restart one",
  usage: USAGE,
  run,
};
