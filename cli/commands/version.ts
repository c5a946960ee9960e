/** `osctl version`: the client's version and every target node's. */
import {
  MachineServiceService,
  VersionResponse,
} from "../../lib/api/gen/machine/machine.ts";
import type { Command, CommandContext } from "../command.ts";
import { parseCommandArgs } from "../client/args.ts";
import { reportNodeErrors } from "../client/output.ts";
import { nodeOf, splitReplies } from "../client/reply.ts";
import { printStructured, withApiClient } from "../client/session.ts";
import { UsageError } from "../command.ts";
import { stringifyYaml } from "../../lib/config/mod.ts";

/** The version of this osctl build. */
export const CLIENT_TAG = "v0.1.0-dev";

const USAGE = `Usage: osctl version [--short] [--client]

Prints the client's version and the version of every target node.

Flags:
      --short    print the tag only
      --client   print the client's version only`;

function field(name: string, value: string): string {
  return `\t${(name + ":").padEnd(13)}${value}\n`;
}

async function run(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    short: { type: "boolean", default: false },
    client: { type: "boolean", default: false },
  });
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"`);
  }
  const out = ctx.io;
  const client = () => {
    out.stdout("Client:\n");
    if (values.short) {
      out.stdout(field("Tag", CLIENT_TAG));
      return;
    }
    out.stdout(field("Tag", CLIENT_TAG));
    out.stdout(field("Deno", Deno.version.deno));
    out.stdout(field("OS/Arch", `${Deno.build.os}/${Deno.build.arch}`));
  };
  if (values.client) {
    if (ctx.globals.output === "table") client();
    else {
      const facts = {
        clientVersion: {
          tag: CLIENT_TAG,
          denoVersion: Deno.version.deno,
          os: Deno.build.os,
          arch: Deno.build.arch,
        },
      };
      out.stdout(
        ctx.globals.output === "json"
          ? JSON.stringify(facts, null, 2) + "\n"
          : stringifyYaml(facts),
      );
    }
    return 0;
  }
  return await withApiClient(ctx, async (api) => {
    const reply = await api.unary(MachineServiceService.version, {
      metadata: undefined,
    }, {
      signal: ctx.signal,
    });
    if (printStructured(ctx, VersionResponse, reply)) {
      return reportNodeErrors(
        ctx.io,
        splitReplies(reply.messages, api.defaultNode).errors,
      );
    }
    client();
    out.stdout("Server:\n");
    const { good, errors } = splitReplies(reply.messages, api.defaultNode);
    for (const m of good) {
      out.stdout(field("NODE", nodeOf(m, api.defaultNode)));
      out.stdout(field("Tag", m.version?.tag ?? ""));
      if (values.short) continue;
      out.stdout(field("SHA", m.version?.sha ?? ""));
      out.stdout(field("Built", m.version?.built ?? ""));
      out.stdout(field("Deno", m.version?.denoVersion ?? ""));
      out.stdout(field("OS/Arch", `${m.version?.os}/${m.version?.arch}`));
      out.stdout(
        field("Platform", `${m.platform?.name} (${m.platform?.mode})`),
      );
    }
    return reportNodeErrors(ctx.io, errors);
  });
}

/** The version command. */
export const versionCommand: Command = {
  name: "version",
  summary: "Print the client and server versions",
  usage: USAGE,
  run,
};
