/**
 * `osctl config add|remove`: add a context from CA, certificate and key
 * files; remove contexts by name or glob.
 * @module
 */
import { pemToBase64 } from "../../lib/pem/mod.ts";
import {
  clientConfigPath,
  loadClientConfig,
  saveClientConfig,
} from "../../lib/clientconfig/mod.ts";
import {
  importPrivateKeyPem,
  parseCertificate,
  verifyCertificate,
} from "../../lib/pki/mod.ts";
import type { Command, CommandContext } from "../command.ts";
import { UsageError } from "../command.ts";
import { parseCommandArgs } from "../client/args.ts";

async function readPem(path: string, what: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (cause) {
    throw new Error(`Cannot read ${what} ${JSON.stringify(path)}`, { cause });
  }
}

function pathOf(ctx: CommandContext): string {
  return clientConfigPath({ osconfig: ctx.globals.osconfig });
}

const add: Command = {
  name: "config add",
  summary: "add a context from CA, certificate and key files",
  usage: `Usage: osctl config add NAME --ca FILE --crt FILE --key FILE

Adds context NAME to the client config with the OS CA certificate, a client
certificate signed by it and that certificate's key (PEM files; see gen key,
gen csr, gen crt). Its endpoints and nodes are -e/--endpoints and
-n/--nodes if given. The current context does not change.

Flags:
      --ca FILE    the OS CA certificate
      --crt FILE   the client certificate
      --key FILE   the client certificate's private key`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs(args, {
      ca: { type: "string" },
      crt: { type: "string" },
      key: { type: "string" },
    });
    if (positionals.length !== 1) {
      throw new UsageError("expected one context NAME");
    }
    const name = positionals[0];
    for (const flag of ["ca", "crt", "key"] as const) {
      if (!values[flag]) throw new UsageError(`--${flag} is required`);
    }
    const ca = await readPem(values.ca!, "CA certificate");
    const crt = await readPem(values.crt!, "certificate");
    const key = await readPem(values.key!, "key");
    // Checked now, so a wrong file is named here rather than at the first call.
    try {
      await parseCertificate(ca);
    } catch (cause) {
      throw new Error(
        `--ca ${JSON.stringify(values.ca)} is not a certificate`,
        {
          cause,
        },
      );
    }
    let signed = false;
    try {
      signed = await verifyCertificate(crt, ca);
    } catch (cause) {
      throw new Error(
        `--crt ${JSON.stringify(values.crt)} is not a certificate`,
        {
          cause,
        },
      );
    }
    if (!signed) {
      throw new Error(
        `--crt ${JSON.stringify(values.crt)} is not signed by --ca ${
          JSON.stringify(values.ca)
        } (or has expired)`,
      );
    }
    try {
      await importPrivateKeyPem(key);
    } catch (cause) {
      throw new Error(`--key ${JSON.stringify(values.key)} is not a key`, {
        cause,
      });
    }
    const path = pathOf(ctx);
    const config = await loadClientConfig(path, { allowMissing: true });
    if (Object.hasOwn(config.contexts, name)) {
      throw new Error(
        `context ${JSON.stringify(name)} is already in ${
          JSON.stringify(path)
        }; remove it first (osctl config remove ${name})`,
      );
    }
    config.contexts[name] = {
      endpoints: [...ctx.globals.endpoints],
      nodes: [...ctx.globals.nodes],
      ca: pemToBase64(ca),
      crt: pemToBase64(crt),
      key: pemToBase64(key),
    };
    await saveClientConfig(path, config);
    ctx.io.stderr(`added context ${JSON.stringify(name)} to ${path}\n`);
    return 0;
  },
};

/** Whether `name` matches a shell-style glob (`*`, `?`). */
export function globMatch(pattern: string, name: string): boolean {
  const re = new RegExp(
    "^" +
      pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")
        .replace(/\?/g, ".") +
      "$",
  );
  return re.test(name);
}

const remove: Command = {
  name: "config remove",
  summary: "remove contexts (NAME may be a glob)",
  usage: `Usage: osctl config remove NAME [-y] [--dry-run]

Removes every context matching NAME (a glob: "test-*") but the current
one. Asks before each unless -y; --dry-run only says what would go.

Flags:
  -y, --noconfirm   do not ask
      --dry-run     change nothing`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs(args, {
      noconfirm: { type: "boolean", short: "y", default: false },
      "dry-run": { type: "boolean", default: false },
    });
    if (positionals.length !== 1 || positionals[0] === "") {
      throw new UsageError("expected one context NAME or glob");
    }
    const pattern = positionals[0];
    const path = pathOf(ctx);
    const config = await loadClientConfig(path);
    const matches = Object.keys(config.contexts).filter((n) =>
      globMatch(pattern, n)
    ).sort();
    if (matches.length === 0) {
      throw new Error(
        `no context matches ${JSON.stringify(pattern)} in ${
          JSON.stringify(path)
        } (contexts: ${Object.keys(config.contexts).sort().join(", ")})`,
      );
    }
    const ask = !values.noconfirm && !values["dry-run"];
    if (ask && !Deno.stdin.isTerminal()) {
      throw new UsageError(
        "standard input is not a terminal to ask on: give -y to remove without asking",
      );
    }
    let changed = false;
    for (const name of matches) {
      if (name === config.context) {
        ctx.io.stderr(
          `skipping the current context ${
            JSON.stringify(name)
          }: switch to another first (osctl config context NAME)\n`,
        );
        continue;
      }
      if (ask && !confirm(`remove context ${JSON.stringify(name)}?`)) continue;
      ctx.io.stderr(
        `${values["dry-run"] ? "would remove" : "removing"} context ${
          JSON.stringify(name)
        }\n`,
      );
      delete config.contexts[name];
      changed = true;
    }
    if (changed && !values["dry-run"]) await saveClientConfig(path, config);
    return 0;
  },
};

/** config add and config remove. */
export const CONFIG_CONTEXT_COMMANDS: readonly Command[] = [add, remove];
