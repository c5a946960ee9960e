/**
 * `osctl config new FILE --roles ROLE,... [--crt-ttl D]`: a new client config
 * with a certificate minted by a control plane (GenerateClientConfiguration,
 * admin only).
 */
import {
  GenerateClientConfigurationResponse,
  MachineServiceService,
} from "../../lib/api/gen/machine/machine.ts";
import { ROLES } from "../../lib/constants/mod.ts";
import type { Command, CommandContext } from "../command.ts";
import { UsageError } from "../command.ts";
import { splitList } from "../global_flags.ts";
import { parseCommandArgs, parseDurationSeconds } from "../client/args.ts";
import { reportNodeErrors } from "../client/output.ts";
import { splitReplies } from "../client/reply.ts";
import { printStructured, withApiClient } from "../client/session.ts";

const USAGE =
  `Usage: osctl config new FILE --roles ROLE,... [--crt-ttl D] [--force]

Asks a control plane (the endpoint, or the single node given with -n) for a
new client certificate with the given roles and writes a client config
holding it to FILE (mode 0600). Needs os:admin.

Flags:
      --roles LIST    roles of the new certificate (os:admin, os:operator,
                      os:reader)
      --crt-ttl D     certificate lifetime, e.g. 24h, 720h (default 8760h)
      --force         overwrite FILE if it exists`;

async function run(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    roles: { type: "string" },
    "crt-ttl": { type: "string" },
    force: { type: "boolean", default: false },
  });
  if (positionals.length !== 1) {
    throw new UsageError("config new takes one FILE");
  }
  const file = positionals[0];
  const roles = splitList(values.roles ?? "");
  if (roles.length === 0) throw new UsageError("--roles is required");
  for (const r of roles) {
    if (!(ROLES as readonly string[]).includes(r) || r === "os:impersonator") {
      throw new UsageError(
        `unknown role "${r}" (os:admin, os:operator, os:reader)`,
      );
    }
  }
  const ttl = values["crt-ttl"] === undefined
    ? 0
    : parseDurationSeconds(values["crt-ttl"], "--crt-ttl");
  if (!values.force) {
    try {
      await Deno.lstat(file);
      throw new UsageError(
        `${JSON.stringify(file)} exists; use --force to overwrite it`,
      );
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }
  return await withApiClient(ctx, async (api) => {
    const reply = await api.unary(
      MachineServiceService.generateClientConfiguration,
      { roles, crtTtlSeconds: ttl },
      { signal: ctx.signal, singleNode: api.nodes.length > 0 },
    );
    const { good, errors } = splitReplies(reply.messages, api.defaultNode);
    if (errors.length > 0) return reportNodeErrors(ctx.io, errors);
    const osconfig = good[0]?.osconfig;
    if (!osconfig || osconfig.length === 0) {
      throw new Error("the node returned no client config");
    }
    await Deno.writeFile(file, osconfig, { mode: 0o600 });
    await Deno.chmod(file, 0o600);
    if (
      !printStructured(ctx, GenerateClientConfigurationResponse, {
        messages: good.map((m) => ({
          ...m,
          // never print the new private key
          key: new Uint8Array(0) as typeof m.key,
          osconfig: new Uint8Array(0) as typeof m.osconfig,
        })),
      })
    ) {
      ctx.io.stdout(
        `wrote a client config with roles ${roles.join(",")} to ${file}\n`,
      );
    }
    return 0;
  });
}

/** The config new command. */
export const configNewCommand: Command = {
  name: "config new",
  summary: "Make a client config with a new certificate (admin only)",
  usage: USAGE,
  run,
};
