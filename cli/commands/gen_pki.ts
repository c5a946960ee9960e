/**
 * `osctl gen secrets|ca|key|csr|crt`: a secrets bundle, a CA, keys, CSRs
 * and client certificates made offline, as talosctl's gen commands make
 * them (file names included). Every file is mode 0600 and none is
 * overwritten without --force.
 * @module
 */
import { basename, extname } from "node:path";
import { writeFileAtomic } from "../../lib/certdir/mod.ts";
import {
  generateSecretsBundle,
  stringifySecretsBundle,
} from "../../lib/config/mod.ts";
import { ROLES } from "../../lib/constants/mod.ts";
import { ipFamily } from "../../lib/netaddr/mod.ts";
import {
  CertificateAuthority,
  createCsr,
  exportPrivateKeyPem,
  generateKeyPair,
  importPrivateKeyPem,
  type KeyAlgorithm,
  parseCsr,
} from "../../lib/pki/mod.ts";
import type { Command, CommandContext } from "../command.ts";
import { UsageError } from "../command.ts";
import { parseCommandArgs } from "../client/args.ts";
import { splitList } from "../global_flags.ts";

const ALGORITHMS: readonly KeyAlgorithm[] = ["ecdsa-p256", "ed25519"];

function algorithmOf(value: string | undefined): KeyAlgorithm {
  const v = (value ?? "ecdsa-p256") as KeyAlgorithm;
  if (!ALGORITHMS.includes(v)) {
    throw new UsageError(
      `--algorithm ${JSON.stringify(value)}: want ecdsa-p256 or ed25519`,
    );
  }
  return v;
}

function hoursOf(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^[1-9]\d{0,6}$/.test(value)) {
    throw new UsageError(
      `--hours ${JSON.stringify(value)}: want a whole number of hours`,
    );
  }
  return Number(value);
}

function required(value: string | undefined, flag: string): string {
  if (value === undefined || value === "") {
    throw new UsageError(`${flag} is required`);
  }
  return value;
}

function noPositionals(positionals: string[]): void {
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"`);
  }
}

async function read(path: string, what: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (cause) {
    throw new Error(`Cannot read ${what} ${JSON.stringify(path)}`, { cause });
  }
}

/** Writes files (0600) only when none exists, unless `force`. */
async function writeAll(
  ctx: CommandContext,
  files: [string, string][],
  force: boolean,
): Promise<void> {
  if (!force) {
    for (const [path] of files) {
      try {
        await Deno.lstat(path);
      } catch (err) {
        if (err instanceof Deno.errors.NotFound) continue;
        throw err;
      }
      throw new Error(
        `${JSON.stringify(path)} exists; use --force to overwrite it`,
      );
    }
  }
  for (const [path, data] of files) {
    await writeFileAtomic(path, data, 0o600);
    ctx.io.stderr(`wrote ${path}\n`);
  }
}

const FORCE = { type: "boolean", default: false } as const;

const secrets: Command = {
  name: "gen secrets",
  summary: "generate a secrets bundle (the OS CA and the machine token)",
  usage: `Usage: osctl gen secrets [-o FILE] [--force]

Writes a secrets bundle for "osctl gen config --with-secrets".

Flags:
  -o, --output-file FILE   where to write (default secrets.yaml; "-" for stdout)
      --force              overwrite an existing file`,
  localFlags: ["-o", "--output-file"],
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs(args, {
      "output-file": { type: "string", short: "o", default: "secrets.yaml" },
      force: FORCE,
    });
    noPositionals(positionals);
    const text = stringifySecretsBundle(await generateSecretsBundle());
    if (values["output-file"] === "-") ctx.io.stdout(text);
    else await writeAll(ctx, [[values["output-file"], text]], values.force);
    return 0;
  },
};

const ca: Command = {
  name: "gen ca",
  summary: "generate a self-signed X.509 certificate authority",
  usage: `Usage: osctl gen ca --organization ORG [--hours 87600]
                   [--algorithm ecdsa-p256|ed25519] [--force]

Writes ORG.crt, ORG.key and ORG.sha256 (the sha256 of the CA's public key,
"sha256:<hex>").

Flags:
      --organization ORG   the CA's Organization (and common name)
      --hours N            validity in hours (default 87600: 10 years)
      --algorithm ALG      ecdsa-p256 (default) or ed25519
      --force              overwrite existing files`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs(args, {
      organization: { type: "string" },
      hours: { type: "string" },
      algorithm: { type: "string" },
      force: FORCE,
    });
    noPositionals(positionals);
    const org = required(values.organization, "--organization");
    if (/[/\\]|^\.\.?$/.test(org)) {
      throw new UsageError(
        `--organization ${JSON.stringify(org)}: it names the files, so no "/"`,
      );
    }
    const authority = await CertificateAuthority.create({
      commonName: org,
      organization: org,
      ttlMs: hoursOf(values.hours, 87600) * 3600_000,
      algorithm: algorithmOf(values.algorithm),
    });
    const { publicKey } = await importPrivateKeyPem(authority.keyPem);
    const spki = new Uint8Array(
      await crypto.subtle.digest(
        "SHA-256",
        await crypto.subtle.exportKey("spki", publicKey),
      ),
    );
    const hash = "sha256:" +
      Array.from(spki, (b) => b.toString(16).padStart(2, "0")).join("");
    await writeAll(ctx, [
      [`${org}.crt`, authority.crtPem],
      [`${org}.sha256`, hash],
      [`${org}.key`, authority.keyPem],
    ], values.force);
    return 0;
  },
};

const key: Command = {
  name: "gen key",
  summary: "generate a private key",
  usage:
    `Usage: osctl gen key --name NAME [--algorithm ecdsa-p256|ed25519] [--force]

Writes NAME.key (PKCS#8 PEM).

Flags:
      --name NAME       the file's base name
      --algorithm ALG   ecdsa-p256 (default) or ed25519
      --force           overwrite an existing file`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs(args, {
      name: { type: "string" },
      algorithm: { type: "string" },
      force: FORCE,
    });
    noPositionals(positionals);
    const name = required(values.name, "--name");
    const pair = await generateKeyPair(algorithmOf(values.algorithm));
    await writeAll(ctx, [[
      `${name}.key`,
      await exportPrivateKeyPem(pair.privateKey),
    ]], values.force);
    return 0;
  },
};

const csr: Command = {
  name: "gen csr",
  summary: "generate a certificate signing request for a key",
  usage: `Usage: osctl gen csr --key FILE --ip IP [--roles os:admin] [--force]

Writes FILE's name with .csr in place of its extension. The request's
common name is the key file's base name, its Organization the roles.

Flags:
      --key FILE      the PKCS#8 PEM private key (gen key)
      --ip IP         an IP address the certificate is for
      --roles LIST    os:admin (default), os:operator, os:reader
      --force         overwrite an existing file`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs(args, {
      key: { type: "string" },
      ip: { type: "string" },
      roles: { type: "string", default: "os:admin" },
      force: FORCE,
    });
    noPositionals(positionals);
    const keyFile = required(values.key, "--key");
    const ip = required(values.ip, "--ip");
    if (ipFamily(ip) === undefined) {
      throw new UsageError(`--ip ${JSON.stringify(ip)}: not an IP address`);
    }
    const roles = splitList(values.roles);
    for (const r of roles) {
      if (
        !(ROLES as readonly string[]).includes(r) || r === "os:impersonator"
      ) {
        throw new UsageError(
          `unknown role "${r}" (os:admin, os:operator, os:reader)`,
        );
      }
    }
    let pair;
    try {
      pair = await importPrivateKeyPem(await read(keyFile, "key"));
    } catch (cause) {
      throw new Error(`Cannot use key ${JSON.stringify(keyFile)}`, { cause });
    }
    const stem = keyFile.slice(0, keyFile.length - extname(keyFile).length);
    const pem = await createCsr(pair, {
      commonName: basename(stem),
      organizations: roles,
      ipAddresses: [ip],
    });
    await writeAll(ctx, [[`${stem}.csr`, pem]], values.force);
    return 0;
  },
};

const crt: Command = {
  name: "gen crt",
  summary: "sign a CSR with a CA into a client certificate",
  usage:
    `Usage: osctl gen crt --ca PREFIX --csr FILE --name NAME [--hours 24] [--force]

Reads the CA from PREFIX.crt and PREFIX.key (gen ca, or a cluster's CA) and
writes NAME.crt: a client certificate (clientAuth) with the CSR's subject
(its Organization is the roles) and IP addresses.

Flags:
      --ca PREFIX    the CA's files without .crt/.key
      --csr FILE     the PEM certificate request (gen csr)
      --name NAME    the certificate file's base name
      --hours N      validity in hours (default 24)
      --force        overwrite an existing file`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs(args, {
      ca: { type: "string" },
      csr: { type: "string" },
      name: { type: "string" },
      hours: { type: "string" },
      force: FORCE,
    });
    noPositionals(positionals);
    const prefix = required(values.ca, "--ca");
    const csrFile = required(values.csr, "--csr");
    const name = required(values.name, "--name");
    const hours = hoursOf(values.hours, 24);
    let authority;
    try {
      authority = await CertificateAuthority.fromPem(
        await read(`${prefix}.crt`, "CA certificate"),
        await read(`${prefix}.key`, "CA key"),
      );
    } catch (cause) {
      throw new Error(`Cannot use CA ${JSON.stringify(prefix)}`, { cause });
    }
    let request;
    try {
      request = await parseCsr(await read(csrFile, "CSR"));
    } catch (cause) {
      throw new Error(`Cannot use CSR ${JSON.stringify(csrFile)}`, { cause });
    }
    if (request.requestsCa) {
      throw new Error(`CSR ${JSON.stringify(csrFile)} asks for a CA: refused`);
    }
    const pem = await authority.issue(request.publicKey, {
      commonName: request.subject.commonName ?? name,
      organizations: request.subject.organizations,
      ipAddresses: request.ipAddresses,
      dnsNames: request.dnsNames,
      usages: ["clientAuth"],
      ttlMs: hours * 3600_000,
    });
    await writeAll(ctx, [[`${name}.crt`, pem]], values.force);
    return 0;
  },
};

/** The gen secrets|ca|key|csr|crt commands. */
export const GEN_PKI_COMMANDS: readonly Command[] = [
  secrets,
  ca,
  key,
  csr,
  crt,
];
