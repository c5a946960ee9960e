/**
 * `osctl config merge|context|contexts|endpoint|node|info`: manage the client
 * config (--osconfig, else $OSCONFIG, else ~/.osctl/config).
 */
import { parseArgs } from "node:util";
import {
  clientConfigPath,
  contextTls,
  loadClientConfig,
  mergeClientConfigs,
  saveClientConfig,
} from "../../lib/clientconfig/mod.ts";
import { stringifyYaml } from "../../lib/config/mod.ts";
import { parseCertificate } from "../../lib/pki/mod.ts";
import type { Command, CommandContext } from "../command.ts";
import { UsageError } from "../command.ts";
import { argsError } from "../client/args.ts";
import { selectContext, unknownContextText } from "../client/context.ts";
import { formatTable } from "../client/output.ts";

function positionalsOf(args: string[]): string[] {
  try {
    return parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {},
    })
      .positionals;
  } catch (err) {
    throw argsError(err, {});
  }
}

function pathOf(ctx: CommandContext): string {
  return clientConfigPath({ osconfig: ctx.globals.osconfig });
}

function print(ctx: CommandContext, value: unknown): void {
  ctx.io.stdout(
    ctx.globals.output === "json"
      ? JSON.stringify(value, null, 2) + "\n"
      : stringifyYaml(value),
  );
}

const merge: Command = {
  name: "config merge",
  summary: "merge a client config's contexts into the current client config",
  usage: `Usage: osctl config merge FILE

Adds FILE's contexts to the client config (renaming clashes to NAME-1, ...)
and makes FILE's current context the current one.`,
  async run(args, ctx) {
    const pos = positionalsOf(args);
    if (pos.length !== 1) throw new UsageError("expected one FILE");
    const path = pathOf(ctx);
    const incoming = await loadClientConfig(pos[0]);
    const base = await loadClientConfig(path, { allowMissing: true });
    const { config, renamed } = mergeClientConfigs(base, incoming);
    for (const [from, to] of renamed) {
      ctx.io.stderr(
        `renamed osconfig context ${JSON.stringify(from)} -> ${
          JSON.stringify(to)
        }\n`,
      );
    }
    await saveClientConfig(path, config);
    return 0;
  },
};

const context: Command = {
  name: "config context",
  summary: "set the current context",
  usage: "Usage: osctl config context NAME",
  async run(args, ctx) {
    const pos = positionalsOf(args);
    if (pos.length !== 1) throw new UsageError("expected one context NAME");
    const path = pathOf(ctx);
    const cfg = await loadClientConfig(path);
    if (!Object.hasOwn(cfg.contexts, pos[0])) {
      throw new Error(
        unknownContextText(cfg, path, pos[0]),
      );
    }
    cfg.context = pos[0];
    await saveClientConfig(path, cfg);
    return 0;
  },
};

const contexts: Command = {
  name: "config contexts",
  summary: "list the client config's contexts",
  usage: "Usage: osctl config contexts",
  async run(args, ctx) {
    if (positionalsOf(args).length > 0) {
      throw new UsageError("no arguments expected");
    }
    const cfg = await loadClientConfig(pathOf(ctx));
    const list = Object.entries(cfg.contexts).map(([name, c]) => ({
      current: name === cfg.context,
      name,
      endpoints: c.endpoints,
      nodes: c.nodes,
    }));
    if (ctx.globals.output !== "table") {
      print(ctx, list);
      return 0;
    }
    ctx.io.stdout(formatTable(
      ["CURRENT", "NAME", "ENDPOINTS", "NODES"],
      list.map((c) => [
        c.current ? "*" : "",
        c.name,
        c.endpoints.join(","),
        c.nodes.join(","),
      ]),
    ));
    return 0;
  },
};

function setList(field: "endpoints" | "nodes", name: string): Command {
  const what = field === "endpoints" ? "ENDPOINT" : "NODE";
  return {
    name,
    summary: `set the ${field} of the current context`,
    usage: `Usage: osctl ${name} [${what}...]

Replaces the ${field} of the current (or --context) context; none clears them.`,
    async run(args, ctx) {
      const values = positionalsOf(args).flatMap((a) => a.split(","))
        .map((s) => s.trim()).filter(Boolean);
      const path = pathOf(ctx);
      const cfg = await loadClientConfig(path);
      selectContext(cfg, path, ctx.globals.context).context[field] = values;
      await saveClientConfig(path, cfg);
      return 0;
    },
  };
}

function when(ms: number): string {
  const days = Math.round(ms / 86400e3);
  if (ms < 0) return "expired";
  if (days >= 365) return `${Math.floor(days / 365)} year(s) from now`;
  if (days >= 1) return `${days} day(s) from now`;
  return `${Math.round(ms / 60e3)} minute(s) from now`;
}

const info: Command = {
  name: "config info",
  summary: "show the current context",
  usage: "Usage: osctl config info",
  async run(args, ctx) {
    if (positionalsOf(args).length > 0) {
      throw new UsageError("no arguments expected");
    }
    const path = pathOf(ctx);
    const cfg = await loadClientConfig(path);
    const { name, context: c } = selectContext(cfg, path, ctx.globals.context);
    const cert = await parseCertificate(contextTls(c).cert);
    const facts = {
      context: name,
      nodes: c.nodes,
      endpoints: c.endpoints,
      roles: cert.subject.organizations,
      certificateExpires: cert.notAfter.toISOString(),
    };
    if (ctx.globals.output !== "table") {
      print(ctx, facts);
      return 0;
    }
    const list = (l: string[]) => l.length ? l.join(", ") : "not defined";
    ctx.io.stdout(
      `Current context:     ${name}\n` +
        `Nodes:               ${list(c.nodes)}\n` +
        `Endpoints:           ${list(c.endpoints)}\n` +
        `Roles:               ${list(cert.subject.organizations)}\n` +
        `Certificate expires: ${when(cert.notAfter.getTime() - Date.now())} (${
          cert.notAfter.toISOString().slice(0, 10)
        })\n`,
    );
    return 0;
  },
};

/** The `config ...` commands. */
export const CONFIG_COMMANDS: readonly Command[] = [
  merge,
  context,
  contexts,
  setList("endpoints", "config endpoint"),
  setList("nodes", "config node"),
  info,
];
