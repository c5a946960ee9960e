/**
 * `osctl upgrade --image BUNDLE` and `osctl rollback`: move every target
 * node to another signed build of Bronze, or back to the previous one.
 *
 * Process mode: the bundle is handed to each node as the absolute path of
 * the file (the nodes share this machine's filesystem); the node verifies
 * it before writing anything.
 * @module
 */
import {
  MachineServiceService as M,
  RollbackResponse,
  UpgradeResponse,
} from "../../lib/api/gen/machine/machine.ts";
import { BUNDLE_MAGIC, parseManifest } from "../../lib/upgrade/mod.ts";
import type { Command, CommandContext } from "../command.ts";
import { UsageError } from "../command.ts";
import { parseCommandArgs, parseDurationSeconds } from "../client/args.ts";
import { errorLine } from "../client/errors.ts";
import {
  formatDuration,
  formatTable,
  reportNodeErrors,
} from "../client/output.ts";
import { nodeOf, splitReplies } from "../client/reply.ts";
import { printStructured, withApiClient } from "../client/session.ts";
import { type WaitTarget, waitTargets } from "../client/wait_nodes.ts";

const UPGRADE_USAGE = `Usage: osctl upgrade --image BUNDLE [--stage] [--force]
                     [--wait [--timeout 10m]]

Upgrades every target node to the signed bundle BUNDLE (osctl gen bundle).
Each node verifies the signature, the manifest, the architecture and the
version before writing anything, installs the release beside the running
one and restarts into it; a release that does not get healthy in time is
abandoned and the node returns to the previous one by itself.

Flags:
      --image BUNDLE   the upgrade bundle (a file on this machine)
      --stage          install and switch, restart only at the next start
      --force          allow a downgrade
      --wait           follow each node until it runs the new version;
                       exit 1 when a node ends on the old one
      --timeout D      how long --wait waits (default 10m)`;

/** The version a bundle claims (read, not verified: the node verifies). */
async function bundleVersion(path: string): Promise<string> {
  const f = await Deno.open(path, { read: true });
  try {
    const head = new Uint8Array(BUNDLE_MAGIC.length + 4);
    const n = await f.read(head);
    if (n !== head.length || !BUNDLE_MAGIC.every((b, i) => head[i] === b)) {
      throw new Error(`${JSON.stringify(path)} is not an upgrade bundle`);
    }
    const len = new DataView(head.buffer).getUint32(BUNDLE_MAGIC.length);
    if (len > 4 * 1024 * 1024) {
      throw new Error(`${JSON.stringify(path)}: manifest too large`);
    }
    const m = new Uint8Array(len);
    let off = 0;
    while (off < len) {
      const r = await f.read(m.subarray(off));
      if (r === null) throw new Error(`${JSON.stringify(path)} is truncated`);
      off += r;
    }
    return parseManifest(new TextDecoder().decode(m)).version;
  } finally {
    f.close();
  }
}

async function tagOf(t: WaitTarget, signal: AbortSignal): Promise<string> {
  const r = await t.client.unary(M.version, { metadata: undefined }, {
    signal,
    timeoutMs: 5000,
    singleNode: true,
  });
  const m = r.messages[0];
  if (m?.metadata?.error) throw new Error(m.metadata.error);
  return m?.version?.tag ?? "";
}

async function settled(t: WaitTarget, signal: AbortSignal): Promise<boolean> {
  const r = await t.client.unary(M.serviceList, { metadata: undefined }, {
    signal,
    timeoutMs: 5000,
    singleNode: true,
  });
  // etcd waits for bootstrap by design: not part of "healthy" here.
  const services = (r.messages[0]?.services ?? []).filter((s) =>
    s.id !== "etcd"
  );
  return services.length > 0 &&
    services.every((s) => s.state === "Running" && s.health?.healthy !== false);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function runUpgrade(
  args: string[],
  ctx: CommandContext,
): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    image: { type: "string" },
    stage: { type: "boolean", default: false },
    force: { type: "boolean", default: false },
    wait: { type: "boolean", default: false },
    timeout: { type: "string" },
  });
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"`);
  }
  if (!values.image) throw new UsageError("--image is required");
  if (values.timeout !== undefined && !values.wait) {
    throw new UsageError("--timeout needs --wait");
  }
  const timeoutMs = parseDurationSeconds(values.timeout ?? "10m", "--timeout") *
    1000;
  const image = await Deno.realPath(values.image).catch((cause) => {
    throw new Error(`Cannot read bundle ${JSON.stringify(values.image)}`, {
      cause,
    });
  });
  const want = await bundleVersion(image);
  const say = (line: string) =>
    ctx.globals.output === "table"
      ? ctx.io.stdout(line + "\n")
      : ctx.io.stderr(line + "\n");
  return await withApiClient(ctx, async (api) => {
    const targets = await waitTargets(ctx, api);
    const started = Date.now();
    try {
      const results = await Promise.all(targets.map(async (t) => {
        let before = "";
        try {
          before = await tagOf(t, ctx.signal);
          say(`${t.node}: sending ${want} (running ${before})`);
          const reply = await t.client.unary(M.upgrade, {
            image,
            preserve: false,
            stage: values.stage,
            force: values.force,
          }, { signal: ctx.signal, timeoutMs: 120_000, singleNode: true });
          const { good, errors } = splitReplies(
            reply.messages,
            api.defaultNode,
          );
          if (!printStructured(ctx, UpgradeResponse, reply)) {
            for (const m of good) {
              say(`${nodeOf(m, t.node)}: verified: ${m.ack}`);
            }
          }
          if (reportNodeErrors(ctx.io, errors) !== 0) return false;
        } catch (err) {
          say(`${t.node}: refused: ${errorLine(err)}`);
          return false;
        }
        if (!values.wait || values.stage) return true;
        let phase = "restarting";
        say(`${t.node}: restarting`);
        const deadline = started + timeoutMs;
        let seenNew = false;
        let wentDown = false;
        while (!ctx.signal.aborted && Date.now() < deadline) {
          await sleep(500);
          try {
            const tag = await tagOf(t, ctx.signal);
            if (phase === "down") say(`${t.node}: back, running ${tag}`);
            phase = "up";
            if (tag === want) {
              seenNew = true;
              if (await settled(t, ctx.signal)) {
                say(
                  `${t.node}: running ${want} (${
                    formatDuration(Date.now() - started)
                  })`,
                );
                return true;
              }
            } else if (seenNew || (wentDown && tag === before)) {
              say(
                `${t.node}: fell back to ${tag}: ${want} did not get healthy`,
              );
              return false;
            }
          } catch (err) {
            if (phase !== "down") say(`${t.node}: down (${errorLine(err)})`);
            phase = "down";
            wentDown = true;
          }
        }
        say(
          `${t.node}: still not on ${want} after ${formatDuration(timeoutMs)}`,
        );
        return false;
      }));
      return results.every(Boolean) ? 0 : 1;
    } finally {
      for (const t of targets) t.client.close();
    }
  });
}

const ROLLBACK_USAGE = `Usage: osctl rollback

Moves every target node back to its previous release (restarting into it).
Refused on a node that has no previous release.`;

async function runRollback(
  args: string[],
  ctx: CommandContext,
): Promise<number> {
  const { positionals } = parseCommandArgs(args, {});
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"`);
  }
  return await withApiClient(ctx, async (api) => {
    const reply = await api.unary(M.rollback, {}, { signal: ctx.signal });
    const { good, errors } = splitReplies(reply.messages, api.defaultNode);
    if (!printStructured(ctx, RollbackResponse, reply)) {
      ctx.io.stdout(formatTable(
        ["NODE", "ROLLBACK"],
        good.map((m) => [nodeOf(m, api.defaultNode), "restarting"]),
      ));
    }
    return reportNodeErrors(ctx.io, errors);
  });
}

/** The upgrade and rollback commands. */
export const UPGRADE_COMMANDS: readonly Command[] = [
  {
    name: "upgrade",
    summary: "Upgrade nodes to a signed build",
    usage: UPGRADE_USAGE,
    run: runUpgrade,
  },
  {
    name: "rollback",
    summary: "Roll nodes back to their previous build",
    usage: ROLLBACK_USAGE,
    run: runRollback,
  },
];
