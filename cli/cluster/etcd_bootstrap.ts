/**
 * The etcd part of `osctl cluster create`, as `talosctl cluster create` does
 * it: Bootstrap on the first control plane, then wait until etcd is healthy
 * on every control plane and the member list has them all as voters.
 * @module
 */
import { MachineServiceService } from "../../lib/api/gen/machine/machine.ts";
import { ApiError } from "../../lib/api_error/mod.ts";
import type { TlsMaterial } from "../../lib/certdir/mod.ts";
import { ApiClient } from "../client/api_client.ts";
import type { ClusterRecord } from "./state.ts";

/** Options for {@linkcode bootstrapEtcd}. */
export interface BootstrapEtcdOptions {
  /** The endpoint to call through (the first control plane). */
  endpoint: string;
  /** The admin client's TLS material. */
  tls: TlsMaterial;
  /** How long to wait in all (ms). */
  waitMs: number;
  /** Progress lines. */
  progress: (line: string) => void;
  /** Cancels the wait. */
  signal?: AbortSignal;
}

const M = MachineServiceService;

/**
 * Bootstraps etcd on the cluster's first control plane (retrying while the
 * node is not ready for it) and waits until every control plane's etcd is
 * a healthy voting member.
 */
export async function bootstrapEtcd(
  record: ClusterRecord,
  options: BootstrapEtcdOptions,
): Promise<void> {
  const cps = record.nodes.filter((n) => n.type === "controlplane");
  if (cps.length === 0) return;
  const deadline = Date.now() + options.waitMs;
  const first = cps[0].address;
  const one = new ApiClient({
    endpoints: [options.endpoint],
    nodes: [first],
    tls: options.tls,
  });
  const all = new ApiClient({
    endpoints: [options.endpoint],
    nodes: cps.map((n) => n.address),
    tls: options.tls,
  });
  try {
    options.progress(`bootstrapping etcd on ${first}`);
    let last = "";
    while (true) {
      try {
        await one.unary(M.bootstrap, {
          recoverEtcd: false,
          recoverSkipHashCheck: false,
        }, { singleNode: true, timeoutMs: 15_000, signal: options.signal });
        break;
      } catch (err) {
        // Not ready yet (FailedPrecondition) is worth waiting for; a node
        // that already has etcd data is bootstrapped already.
        if (err instanceof ApiError && err.status === "AlreadyExists") {
          options.progress(`etcd on ${first}: ${err.message}`);
          break;
        }
        const text = err instanceof Error ? err.message : String(err);
        if (text !== last) {
          options.progress(`waiting to bootstrap etcd on ${first}: ${text}`);
          last = text;
        }
        if (
          !(err instanceof ApiError && err.status === "FailedPrecondition")
        ) throw err;
      }
      await pause(500, deadline, "bootstrapping etcd", options.signal);
    }
    let reported = "";
    while (true) {
      const waiting = await etcdWaits(all, cps.length, options.signal);
      if (waiting.length === 0) {
        options.progress(
          `etcd is healthy: ${cps.length} voting member(s)`,
        );
        return;
      }
      const text = waiting.join("; ");
      if (text !== reported) {
        options.progress(`waiting for etcd: ${text}`);
        reported = text;
      }
      await pause(1000, deadline, `etcd (${text})`, options.signal);
    }
  } finally {
    one.close();
    all.close();
  }
}

/** What etcd still waits for, one entry per reason; empty when healthy. */
async function etcdWaits(
  client: ApiClient,
  controlPlanes: number,
  signal?: AbortSignal,
): Promise<string[]> {
  const out: string[] = [];
  try {
    const list = await client.unary(M.serviceList, { metadata: undefined }, {
      timeoutMs: 10_000,
      signal,
    });
    for (const m of list.messages) {
      const node = m.metadata?.hostname ?? "";
      if (m.metadata?.error) {
        out.push(`${node}: ${m.metadata.error}`);
        continue;
      }
      const etcd = m.services.find((s) => s.id === "etcd");
      if (!etcd) out.push(`${node}: no etcd service`);
      else if (etcd.state !== "Running" || !etcd.health?.healthy) {
        out.push(
          `${node}: etcd ${etcd.state}${
            etcd.health?.lastMessage ? ` (${etcd.health.lastMessage})` : ""
          }`,
        );
      }
    }
    if (out.length > 0) return out;
    const members = await client.unary(M.etcdMemberList, {
      queryLocal: false,
    }, { timeoutMs: 10_000, signal });
    for (const m of members.messages) {
      const node = m.metadata?.hostname ?? "";
      if (m.metadata?.error) {
        out.push(`${node}: ${m.metadata.error}`);
        continue;
      }
      const voters = m.members.filter((x) => !x.isLearner).length;
      if (voters !== controlPlanes) {
        out.push(
          `${node}: ${voters}/${controlPlanes} voting members (${
            m.members.filter((x) => x.isLearner).length
          } learner(s))`,
        );
      }
    }
  } catch (err) {
    out.push(err instanceof Error ? err.message : String(err));
  }
  return out;
}

async function pause(
  ms: number,
  deadline: number,
  what: string,
  signal?: AbortSignal,
): Promise<void> {
  if (signal?.aborted) throw new Error(`Canceled while waiting for ${what}`);
  if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
  await new Promise((r) => setTimeout(r, ms));
}
