/**
 * `osctl health`: the cluster's health as `talosctl health` checks it, run
 * from the client: every node's apid answers, etcd is healthy on every
 * control plane, the control planes agree on the member list, its voters are
 * the control planes, and every service of every node is healthy. Each check
 * is retried until it passes or --wait-timeout (the whole run's bound) ends;
 * progress per check; exit code 0 only when all pass, each failure named with
 * its node.
 * @module
 */
import {
  MachineServiceService,
  type ServiceInfo,
} from "../../lib/api/gen/machine/machine.ts";
import type { Command, CommandContext } from "../command.ts";
import { UsageError } from "../command.ts";
import { parseCommandArgs, parseDurationSeconds } from "../client/args.ts";
import { ApiClient } from "../client/api_client.ts";
import { resolveClientContext } from "../client/context.ts";
import { APID_PORT } from "../../lib/constants/mod.ts";
import { NODE_SERVER_NAME } from "../../lib/certdir/tls_material.ts";
import tls from "node:tls";

const M = MachineServiceService;

const USAGE =
  `Usage: osctl health [--control-plane-nodes IP,..] [--worker-nodes IP,..]
                    [--wait-timeout 5m]

Checks the cluster's health from the client: every node's apid answers, etcd
is healthy on every control plane, the control planes see the same etcd
members, whose voters are exactly the control planes, every node's apid
certificate (from its TLS handshake) is valid for over an hour, every clock is
within a second of the endpoint's, and every service of every node is healthy. Without the node flags the nodes are -n's (else the
context's) and the endpoint's etcd members; those running etcd are the
control planes. Each check is retried
until it passes or --wait-timeout ends; the exit code is 0 only when every
check passed.`;

/** A node certificate must stay valid longer than this. */
const CERT_MARGIN_MS = 3600_000;
/** The most a node's clock may be off the reference's. */
const MAX_SKEW_MS = 1000;

/** When the certificate `node`'s apid shows in its TLS handshake expires. */
function apidCertExpiry(
  node: string,
  t: { ca: string; cert?: string; key?: string },
  signal: AbortSignal,
): Promise<Date> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({
      host: node,
      port: APID_PORT,
      ca: t.ca,
      cert: t.cert,
      key: t.key,
      servername: NODE_SERVER_NAME,
      ALPNProtocols: ["h2"],
    });
    const stop = () => {
      s.destroy();
      reject(new Error("no TLS handshake before --wait-timeout"));
    };
    signal.addEventListener("abort", stop, { once: true });
    s.once("secureConnect", () => {
      signal.removeEventListener("abort", stop);
      const notAfter = new Date(s.getPeerCertificate()?.valid_to ?? "");
      s.destroy();
      if (Number.isNaN(notAfter.getTime())) {
        reject(new Error("its certificate has no readable expiry"));
      } else resolve(notAfter);
    });
    s.once("error", (err: Error) => {
      signal.removeEventListener("abort", stop);
      reject(err);
    });
  });
}

/** One check: what it waits for and what still fails (empty: passed). */
interface Check {
  name: string;
  run(signal: AbortSignal): Promise<string[]>;
}

function splitList(value: string | undefined): string[] {
  return (value ?? "").split(",").map((s) => s.trim()).filter(Boolean);
}

function serviceProblem(s: ServiceInfo): string | undefined {
  if (s.state === "Skipped") return undefined;
  if (s.state !== "Running") return `${s.id} is ${s.state}`;
  if (!s.health?.unknown && s.health?.healthy === false) {
    return `${s.id} is unhealthy: ${s.health.lastMessage}`;
  }
  return undefined;
}

async function run(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    "control-plane-nodes": { type: "string" },
    "worker-nodes": { type: "string" },
    "wait-timeout": { type: "string" },
  });
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"`);
  }
  const waitMs = parseDurationSeconds(
    values["wait-timeout"] ?? "5m",
    "--wait-timeout",
  ) * 1000;
  const base = await resolveClientContext(ctx.globals);
  let cps = splitList(values["control-plane-nodes"]);
  let workers = splitList(values["worker-nodes"]);
  const deadline = Date.now() + waitMs;
  const say = (line: string) => ctx.io.stderr(`${line}\n`);
  const clientOf = (nodes: readonly string[]) =>
    new ApiClient({ endpoints: base.endpoints, nodes, tls: base.tls });

  if (cps.length === 0 && workers.length === 0) {
    const nodes = [...base.nodes];
    // The etcd members the endpoint's node knows are control planes too, so
    // naming a worker alone checks the control planes as well.
    try {
      using own = clientOf([]);
      const r = await own.unary(M.etcdMemberList, { queryLocal: false }, {
        signal: ctx.signal,
        timeoutMs: 15_000,
      });
      for (const m of r.messages[0]?.members ?? []) {
        for (const u of m.clientUrls) {
          const host = /^https:\/\/([0-9.]+):2379$/.exec(u)?.[1];
          if (host && !nodes.includes(host)) nodes.push(host);
        }
      }
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      say(
        `no etcd member list from the endpoint: ${
          err instanceof Error ? err.message : String(err)
        }`,
      );
    }
    if (nodes.length === 0) {
      throw new UsageError(
        "no nodes: name them with --control-plane-nodes/--worker-nodes or -n",
      );
    }
    // The control planes are the nodes that run etcd.
    using all = clientOf(nodes);
    const list = await all.unary(M.serviceList, { metadata: undefined }, {
      signal: ctx.signal,
      timeoutMs: 15_000,
    });
    for (const m of list.messages) {
      const node = m.metadata?.hostname ?? "";
      if (m.services.some((s) => s.id === "etcd")) cps.push(node);
      else if (!m.metadata?.error) workers.push(node);
    }
    const seen = new Set([...cps, ...workers]);
    // A node that did not answer is checked as a worker (apid says why).
    workers = [...workers, ...nodes.filter((n) => !seen.has(n))];
    cps = cps.filter((n) => nodes.includes(n));
  }
  const everyone = [...cps, ...workers];
  say(
    `discovered nodes: control plane: ${cps.join(", ") || "none"}; worker: ${
      workers.join(", ") || "none"
    }`,
  );
  using allClient = clientOf(everyone);
  using cpClient = clientOf(cps);

  const checks: Check[] = [
    {
      name: "all nodes' apid to answer",
      async run(signal) {
        const r = await allClient.unary(M.version, { metadata: undefined }, {
          signal,
          timeoutMs: 10_000,
        });
        return r.messages.filter((m) => m.metadata?.error).map((m) =>
          `${m.metadata!.hostname}: ${m.metadata!.error}`
        );
      },
    },
    {
      name: "etcd to be healthy",
      async run(signal) {
        if (cps.length === 0) return ["no control plane node"];
        const r = await cpClient.unary(M.serviceList, {
          metadata: undefined,
        }, { signal, timeoutMs: 10_000 });
        const out: string[] = [];
        for (const m of r.messages) {
          const node = m.metadata?.hostname ?? "";
          if (m.metadata?.error) {
            out.push(`${node}: ${m.metadata.error}`);
            continue;
          }
          const etcd = m.services.find((s) => s.id === "etcd");
          if (!etcd) out.push(`${node}: no etcd service`);
          else if (etcd.state !== "Running" || !etcd.health?.healthy) {
            out.push(
              `${node}: etcd is ${etcd.state}${
                etcd.health?.lastMessage ? ` (${etcd.health.lastMessage})` : ""
              }`,
            );
          }
        }
        return out;
      },
    },
    {
      name: "etcd members to be consistent across nodes",
      async run(signal) {
        const r = await cpClient.unary(M.etcdMemberList, {
          queryLocal: false,
        }, { signal, timeoutMs: 10_000 });
        const out: string[] = [];
        const views = new Map<string, string>();
        for (const m of r.messages) {
          const node = m.metadata?.hostname ?? "";
          if (m.metadata?.error) {
            out.push(`${node}: ${m.metadata.error}`);
            continue;
          }
          views.set(node, m.members.map((x) => x.id).sort().join(","));
        }
        if (new Set(views.values()).size > 1) {
          out.push(
            `the nodes see different members: ${
              [...views].map(([n, v]) => `${n}: ${v}`).join("; ")
            }`,
          );
        }
        return out;
      },
    },
    {
      name: "etcd members to be control plane nodes",
      async run(signal) {
        const r = await cpClient.unary(M.etcdMemberList, {
          queryLocal: false,
        }, { signal, timeoutMs: 10_000 });
        const m = r.messages.find((x) => !x.metadata?.error);
        if (!m) return ["no control plane answered the member list"];
        const voters = m.members.filter((x) => !x.isLearner);
        const learners = m.members.filter((x) => x.isLearner);
        const out: string[] = [];
        if (voters.length !== cps.length) {
          out.push(
            `${voters.length} voting member(s) for ${cps.length} control plane(s)`,
          );
        }
        for (const l of learners) {
          out.push(`${l.hostname || l.id} is a learner`);
        }
        for (const cp of cps) {
          const url = `https://${cp}:2379`;
          if (!voters.some((v) => v.clientUrls.includes(url))) {
            out.push(`${cp}: not a voting etcd member`);
          }
        }
        return out;
      },
    },
    {
      name: "all nodes' certificates to be valid for more than an hour",
      async run(signal) {
        const out: string[] = [];
        await Promise.all(everyone.map(async (node) => {
          try {
            const notAfter = await apidCertExpiry(node, base.tls, signal);
            if (notAfter.getTime() - Date.now() <= CERT_MARGIN_MS) {
              out.push(
                `${node}: apid certificate expires at ${notAfter.toISOString()}`,
              );
            }
          } catch (err) {
            out.push(
              `${node}: no apid certificate: ${
                err instanceof Error ? err.message : String(err)
              }`,
            );
          }
        }));
        return out.sort();
      },
    },
    {
      name: "all nodes' clocks to be within a second of the reference",
      async run(signal) {
        const r = await allClient.unary(M.time, { metadata: undefined }, {
          signal,
          timeoutMs: 10_000,
        });
        const out: string[] = [];
        for (const m of r.messages) {
          const node = m.metadata?.hostname ?? "";
          if (m.metadata?.error) {
            out.push(`${node}: ${m.metadata.error}`);
            continue;
          }
          const local = m.localtime?.getTime();
          const remote = m.remotetime?.getTime();
          if (local === undefined || remote === undefined) {
            out.push(`${node}: no time in its answer`);
            continue;
          }
          const skew = Math.abs(local - remote) - m.roundTripUs / 2000;
          if (skew >= MAX_SKEW_MS) {
            out.push(
              `${node}: clock ${local - remote}ms off ${
                m.server || "the reference"
              }`,
            );
          }
        }
        return out;
      },
    },
    {
      name: "all services to be healthy",
      async run(signal) {
        const r = await allClient.unary(M.serviceList, {
          metadata: undefined,
        }, { signal, timeoutMs: 10_000 });
        const out: string[] = [];
        for (const m of r.messages) {
          const node = m.metadata?.hostname ?? "";
          if (m.metadata?.error) {
            out.push(`${node}: ${m.metadata.error}`);
            continue;
          }
          for (const s of m.services) {
            const p = serviceProblem(s);
            if (p) out.push(`${node}: ${p}`);
          }
        }
        return out;
      },
    },
  ];

  let failed = 0;
  for (const check of checks) {
    if (Date.now() >= deadline) {
      failed++;
      say(`error: ${check.name}: not checked, --wait-timeout ended`);
      continue;
    }
    say(`waiting for ${check.name}`);
    let problems: string[] = [];
    let reported = "";
    while (true) {
      const left = deadline - Date.now();
      const signal = AbortSignal.any([
        ctx.signal,
        AbortSignal.timeout(Math.max(1, left)),
      ]);
      try {
        problems = await check.run(signal);
      } catch (err) {
        problems = [err instanceof Error ? err.message : String(err)];
      }
      if (problems.length === 0 || ctx.signal.aborted) break;
      const text = problems.join("; ");
      if (text !== reported) {
        say(`waiting for ${check.name}: ${text}`);
        reported = text;
      }
      if (Date.now() + 1000 > deadline) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    if (problems.length === 0) say(`waiting for ${check.name}: OK`);
    else {
      failed++;
      for (const p of problems) say(`error: ${check.name}: ${p}`);
    }
  }
  if (failed > 0) {
    say(`health: ${failed} of ${checks.length} checks failed`);
    return 1;
  }
  return 0;
}

/** The health command. */
export const healthCommand: Command = {
  name: "health",
  summary: "Check cluster health",
  usage: USAGE,
  run,
};
