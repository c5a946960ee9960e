/**
 * `osctl gen release-key` (an Ed25519 key pair that signs releases) and
 * `osctl gen bundle` (a signed upgrade bundle of a source tree).
 * @module
 */
import { writeFileAtomic } from "../../lib/certdir/mod.ts";
import {
  BUILD_INFO_FILE,
  generateReleaseKey,
  importReleasePrivateKey,
  listReleaseFiles,
  publicKeyId,
  writeBundle,
} from "../../lib/upgrade/mod.ts";
import type { Command } from "../command.ts";
import { UsageError } from "../command.ts";
import { parseCommandArgs } from "../client/args.ts";

async function absent(path: string): Promise<void> {
  try {
    await Deno.lstat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return;
    throw err;
  }
  throw new Error(
    `${JSON.stringify(path)} exists; use --force to overwrite it`,
  );
}

const releaseKey: Command = {
  name: "gen release-key",
  summary: "generate an Ed25519 key pair that signs upgrade bundles",
  usage: `Usage: osctl gen release-key [--name release] [--force]

Writes NAME.key (the private key, mode 0600) and NAME.pub (the public key,
for machine.install.trustedKeys or a build's release_keys.pem).

Flags:
      --name NAME   file name prefix (default release)
      --force       overwrite existing files`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs(args, {
      name: { type: "string", default: "release" },
      force: { type: "boolean", default: false },
    });
    if (positionals.length > 0) {
      throw new UsageError(`unexpected argument "${positionals[0]}"`);
    }
    const key = `${values.name}.key`;
    const pub = `${values.name}.pub`;
    if (!values.force) {
      await absent(key);
      await absent(pub);
    }
    const pair = await generateReleaseKey();
    await writeFileAtomic(key, pair.privateKeyPem, 0o600);
    await writeFileAtomic(pub, pair.publicKeyPem, 0o644);
    ctx.io.stderr(
      `wrote ${key} and ${pub} (key id ${await publicKeyId(
        pair.publicKeyPem,
      )})\n`,
    );
    return 0;
  },
};

const VERSION = /^v\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/;

const bundle: Command = {
  name: "gen bundle",
  summary: "build a signed upgrade bundle of a Bronze source tree",
  usage: `Usage: osctl gen bundle --version TAG --key FILE --out FILE
                      [--root DIR] [--architecture ARCH] [--unsigned]

Packs the release files of DIR (default: this checkout) with a
build_info.json naming TAG, a manifest of every part's size and sha256,
and the manifest's Ed25519 signature made with the release key.

Flags:
      --version TAG        the release tag, e.g. v0.2.0
      --key FILE           the release private key (osctl gen release-key)
      --out FILE           where to write the bundle
      --root DIR           the source tree (default: this checkout)
      --architecture ARCH  override the architecture (default: this machine's)
      --unsigned           write no signature (for tests of the refusal)`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs(args, {
      version: { type: "string" },
      key: { type: "string" },
      out: { type: "string" },
      root: { type: "string" },
      architecture: { type: "string" },
      unsigned: { type: "boolean", default: false },
    });
    if (positionals.length > 0) {
      throw new UsageError(`unexpected argument "${positionals[0]}"`);
    }
    if (!values.version || !VERSION.test(values.version)) {
      throw new UsageError(
        `--version ${JSON.stringify(values.version)}: want a tag like v0.2.0`,
      );
    }
    if (!values.out) throw new UsageError("--out is required");
    if (!values.unsigned && !values.key) {
      throw new UsageError("--key is required (or --unsigned)");
    }
    const root = values.root ??
      new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
    const privateKey = values.unsigned
      ? undefined
      : await importReleasePrivateKey(
        await Deno.readTextFile(values.key!),
      );
    const info = {
      tag: values.version,
      sha: "bundle",
      built: new Date().toISOString(),
    };
    const files = (await listReleaseFiles(root)).filter((f) =>
      f !== BUILD_INFO_FILE
    );
    const m = await writeBundle(values.out, {
      root,
      files,
      version: values.version,
      architecture: values.architecture,
      privateKey,
      overrides: {
        [BUILD_INFO_FILE]: new TextEncoder().encode(JSON.stringify(info)),
      },
    });
    ctx.io.stderr(
      `wrote ${values.out} (${m.version}, ${m.architecture}, ${m.parts.length} parts)\n`,
    );
    return 0;
  },
};

/** The gen release-key and gen bundle commands. */
export const GEN_RELEASE_COMMANDS: readonly Command[] = [releaseKey, bundle];
