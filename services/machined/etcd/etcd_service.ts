/**
 * etcd on a control plane, as Talos runs it: a supervised service whose
 * pre-start step decides how the member starts. With data in its folder it
 * simply starts. Without, it waits: for `osctl bootstrap` on this node (a new
 * cluster of one member), or until the cluster named by the control-plane
 * endpoint answers, which it then joins as a learner (promoted to a voter
 * once caught up, with backoff). While it waits it says so in the node's
 * events every 30 s. Workers never run etcd.
 * @module
 */
import { ApiError } from "../../../lib/api_error/mod.ts";
import { type MachineConfig, parseEndpoint } from "../../../lib/config/mod.ts";
import {
  clientUrlOf,
  etcdArgs,
  EtcdClient,
  EtcdError,
  type EtcdMemberInfo,
  peerUrlOf,
} from "../../../lib/etcd/mod.ts";
import { errorText, type Logger } from "../../../lib/log/mod.ts";
import type { ProcessIdentity } from "../../../lib/layout/mod.ts";
import type { BackoffOptions } from "../runner/backoff.ts";
import type { HealthSettings } from "../runner/health.ts";
import { Poke, sleep } from "../runner/notifier.ts";
import type { ServiceSpec } from "../runner/service.ts";
import { etcdCertFiles, EtcdCertificates } from "./etcd_certs.ts";

/** The service id. */
export const ETCD_SERVICE = "etcd";

/** Where the member is in its start. */
export type EtcdPhase =
  | "idle" // not started yet (or stopped)
  | "waiting" // no data: waits for bootstrap or a cluster to join
  | "starting" // the process is about to run or runs
  | "unavailable"; // this node cannot run etcd (no CA, no binary)

/** Options for {@linkcode EtcdService}. */
export interface EtcdServiceOptions {
  /** The etcd binary (undefined: not installed; the service is skipped). */
  etcdPath: string | undefined;
  /** The machine config (a control plane's). */
  config: MachineConfig;
  /** The node's address: etcd's URLs. */
  address: string;
  /** The node's hostname: the member's name. */
  hostname: string;
  /** The node's state folder: data under <state>/etcd, certificates under <state>/certs/etcd. */
  stateDir: string;
  /** Where the member keeps its data (default <state>/etcd; image: the ephemeral partition). */
  dataDir?: string;
  /** Who etcd runs as (image mode); its data and certificates become its own. */
  identity?: ProcessIdentity;
  /** Certificate lifetime (ms). */
  certTtlMs: number;
  /** Logger. */
  log: Logger;
  /** Says something in the node's events. */
  notify: (message: string) => void;
  /** Stops background work (certificates, promotion). */
  signal: AbortSignal;
  /** Client URLs of the cluster to join (default: the control-plane endpoint's host). */
  joinEndpoints?: string[];
  /** How often a waiting member says what it waits for (ms, default 30 s). */
  nagIntervalMs?: number;
  /** How often a waiting member tries to join (ms, default 3 s). */
  joinIntervalMs?: number;
  /** Restart backoff. */
  backoff?: BackoffOptions;
  /** Health timing. */
  healthSettings?: Partial<HealthSettings>;
  /** Waits for the node's address first (image mode). */
  waitForAddress?: (signal: AbortSignal) => Promise<void>;
  /** Stops the etcd service and waits until it is down (leave). */
  stopService?: () => Promise<void>;
}

/** How a member's start was decided. */
interface StartPlan {
  initialClusterState?: "new" | "existing";
  initialCluster?: string;
}

/** etcd on a control plane; see the module doc. */
export class EtcdService {
  #o: EtcdServiceOptions;
  #certs: EtcdCertificates | undefined;
  #phase: EtcdPhase = "idle";
  #plan: StartPlan = {};
  #bootstrapRequested = false;
  #poke = new Poke();
  #promoting: Promise<void> | undefined;
  /** Client URLs of voting members seen last (a learner asks them). */
  #voters: string[] = [];
  #unavailable: string | undefined;

  /** Sets up; certificates are issued at once when etcd can run here. */
  constructor(options: EtcdServiceOptions) {
    this.#o = options;
    if (!options.config.cluster.etcd) {
      this.#unavailable = "etcd is not configured (no cluster.etcd.ca)";
    } else if (!options.etcdPath) {
      this.#unavailable =
        "etcd is not installed on this node (process mode: Debian's etcd-server package)";
    }
    if (this.#unavailable) this.#phase = "unavailable";
    else {
      this.#certs = new EtcdCertificates({
        config: options.config,
        address: options.address,
        hostname: options.hostname,
        stateDir: options.stateDir,
        ttlMs: options.certTtlMs,
        owner: options.identity,
        log: options.log.child({ task: "etcd-certs" }),
        signal: options.signal,
      });
    }
  }

  /** Resolves when background work has stopped (after the signal aborted). */
  async done(): Promise<void> {
    await Promise.all([this.#certs?.done(), this.#promoting]);
  }

  /** The member's data folder. */
  get dataDir(): string {
    return this.#o.dataDir ?? `${this.#o.stateDir}/etcd`;
  }

  /** Where the member is in its start. */
  get phase(): EtcdPhase {
    return this.#phase;
  }

  /** This member's client URL. */
  get clientUrl(): string {
    return clientUrlOf(this.#o.address);
  }

  /** This member's peer URL. */
  get peerUrl(): string {
    return peerUrlOf(this.#o.address);
  }

  /** The service as the supervisor runs it. */
  spec(): ServiceSpec {
    return {
      id: ETCD_SERVICE,
      condition: () =>
        this.#unavailable ? `Skipped: ${this.#unavailable}` : undefined,
      prepare: (signal) => this.#prepare(signal),
      process: () => ({
        command: this.#o.etcdPath!,
        args: etcdArgs({
          name: this.#o.hostname,
          dataDir: this.dataDir,
          address: this.#o.address,
          certs: etcdCertFiles(this.#o.stateDir),
          ...this.#plan,
        }),
        env: {},
        cwd: this.dataDir,
        ...(this.#o.identity ? { identity: this.#o.identity } : {}),
      }),
      health: (signal) => this.#health(signal),
      // etcd takes a few seconds to elect a leader after a start.
      healthSettings: { ...this.#o.healthSettings },
      graceMs: 15000,
      backoff: this.#o.backoff,
    };
  }

  /** A client of this member (machined's client certificate). */
  localClient(): EtcdClient {
    return this.#client([this.clientUrl]);
  }

  /**
   * A client of the cluster: this member first, then the voters it knows
   * (a learner serves no member list), then the join endpoints.
   */
  clusterClient(): EtcdClient {
    return this.#client(
      [...new Set([this.clientUrl, ...this.#voters, ...this.#joinEndpoints()])],
    );
  }

  #client(endpoints: string[]): EtcdClient {
    const certs = this.#certs;
    if (!certs) throw new ApiError("FailedPrecondition", this.#unavailable!);
    return new EtcdClient({ endpoints, tls: () => certs.clientTls() });
  }

  /** Whether the member's data folder holds data. */
  async hasData(): Promise<boolean> {
    try {
      for await (const _ of Deno.readDir(this.dataDir)) return true;
      return false;
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return false;
      throw err;
    }
  }

  /**
   * Bootstrap: forms a new cluster of this one member. Refused with
   * FailedPrecondition before the member waits for it, AlreadyExists when
   * it has data or another control plane's cluster already answers.
   */
  async bootstrap(signal: AbortSignal): Promise<void> {
    if (this.#unavailable) {
      throw new ApiError(
        this.#o.config.cluster.etcd ? "FailedPrecondition" : "InvalidArgument",
        `${this.#unavailable}: bootstrap is not possible`,
      );
    }
    if (await this.hasData()) {
      throw new ApiError("AlreadyExists", "etcd data directory is not empty");
    }
    if (this.#bootstrapRequested) {
      throw new ApiError("AlreadyExists", "bootstrap was already requested");
    }
    if (this.#phase !== "waiting") {
      throw new ApiError(
        "FailedPrecondition",
        `bootstrap is not available yet: etcd is ${this.#phase}`,
      );
    }
    const others = this.#joinEndpoints();
    if (others.length > 0) {
      const found = await this.#client(others).memberList({
        signal,
        timeoutMs: 3000,
      }).catch(() => undefined);
      if (found && found.length > 0) {
        throw new ApiError(
          "AlreadyExists",
          `etcd cluster is already bootstrapped: ${
            others.join(", ")
          } answers with ${found.length} member(s) (${
            found.map((m) => m.name || m.id).join(", ")
          }); this node joins it`,
        );
      }
    }
    this.#o.log.info("etcd bootstrap requested");
    this.#bootstrapRequested = true;
    this.#poke.poke();
  }

  /** The member list as this member sees it. */
  async memberList(signal: AbortSignal): Promise<EtcdMemberInfo[]> {
    return await this.withLocal(async () => {
      const list = await this.clusterClient().memberList({ signal });
      this.#learnVoters(list);
      return list;
    });
  }

  #learnVoters(list: EtcdMemberInfo[]): void {
    const voters = list.filter((m) => !m.isLearner).flatMap((m) =>
      m.clientUrls
    );
    if (voters.length > 0) this.#voters = voters;
  }

  #assertRunning(): void {
    if (this.#unavailable) {
      throw new ApiError("FailedPrecondition", this.#unavailable);
    }
    if (this.#phase !== "starting") {
      throw new ApiError(
        "FailedPrecondition",
        this.#phase === "waiting"
          ? "etcd is not running: it waits for `osctl bootstrap` or a cluster to join"
          : `etcd is not running (${this.#phase})`,
      );
    }
  }

  /**
   * Leaves the cluster (EtcdLeaveCluster): hands leadership on if this
   * member leads, has the other members remove it, stops etcd and wipes its
   * data, so that a later start joins afresh as a learner. The last voting
   * member cannot leave.
   */
  async leave(signal: AbortSignal): Promise<void> {
    await this.withLocal(async (local) => {
      const list = await this.clusterClient().memberList({ signal });
      const me = list.find((m) =>
        m.name === this.#o.hostname || m.peerUrls.includes(this.peerUrl)
      );
      if (!me) {
        throw new ApiError(
          "FailedPrecondition",
          `this node (${this.#o.hostname}) is not an etcd member`,
        );
      }
      const others = list.filter((m) => m.id !== me.id && !m.isLearner);
      if (others.length === 0) {
        throw new ApiError(
          "FailedPrecondition",
          "the last voting etcd member cannot leave the cluster",
        );
      }
      const status = await local.status({ signal }).catch(() => undefined);
      if (status && status.leader === me.id) {
        await local.moveLeader(others[0].id, { signal });
        this.#o.log.info("etcd leadership handed over", {
          to: others[0].name,
        });
      }
      const through = others.flatMap((m) => m.clientUrls);
      // etcd refuses a removal until every remaining member has been
      // connected for a while ("unhealthy cluster"): retry for 30 s.
      const until = Date.now() + 30_000;
      while (true) {
        try {
          await this.#client(through).memberRemove(me.id, { signal });
          break;
        } catch (err) {
          if (
            !(err instanceof EtcdError) ||
            !err.message.includes("unhealthy cluster") || Date.now() > until
          ) throw err;
          await sleep(1000, signal);
        }
      }
      this.#o.log.info("etcd member removed itself", { id: me.id });
    });
    await this.#o.stopService?.();
    await Deno.remove(this.dataDir, { recursive: true }).catch((err) => {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    });
    this.#phase = "idle";
    this.#o.notify(
      "etcd: left the cluster; its data is wiped (start the etcd service to join again)",
    );
  }

  /** Runs an operation on this member's client, mapping etcd's refusals. */
  async withLocal<T>(fn: (c: EtcdClient) => Promise<T>): Promise<T> {
    this.#assertRunning();
    try {
      return await fn(this.localClient());
    } catch (err) {
      if (err instanceof EtcdError) {
        throw new ApiError(
          err.code === 0 ? "Unavailable" : "FailedPrecondition",
          err.message,
          { cause: err },
        );
      }
      throw err;
    }
  }

  async #health(signal: AbortSignal): Promise<void> {
    await this.localClient().health({ signal, timeoutMs: 4000 });
  }

  /**
   * Client URLs of the cluster this node joins (never its own): the
   * control-plane endpoint's, and the voters it saw last (so a member that
   * left can rejoin even when it is the endpoint).
   */
  #joinEndpoints(): string[] {
    const out = [...this.#voters];
    if (this.#o.joinEndpoints) out.push(...this.#o.joinEndpoints);
    else {
      try {
        out.push(
          clientUrlOf(
            parseEndpoint(this.#o.config.cluster.controlPlane.endpoint).host,
          ),
        );
      } catch {
        // no usable endpoint: only the voters seen
      }
    }
    return [...new Set(out)].filter((e) => e !== this.clientUrl);
  }

  async #prepare(signal: AbortSignal): Promise<void> {
    this.#phase = "idle";
    await this.#o.waitForAddress?.(signal);
    await this.#certs!.ready();
    await Deno.mkdir(this.dataDir, { recursive: true, mode: 0o700 });
    await Deno.chmod(this.dataDir, 0o700);
    const id = this.#o.identity;
    if (id) await chownTree(this.dataDir, id.uid, id.gid);
    if (await this.hasData()) {
      this.#plan = {};
      this.#phase = "starting";
      this.#ensureVoter();
      return;
    }
    this.#phase = "waiting";
    const nagEvery = this.#o.nagIntervalMs ?? 30_000;
    const joinEvery = this.#o.joinIntervalMs ?? 3000;
    let lastNag = 0;
    let lastError = "";
    while (!signal.aborted) {
      if (this.#bootstrapRequested) {
        this.#plan = { initialClusterState: "new" };
        this.#phase = "starting";
        this.#o.notify("etcd: bootstrapping a new cluster on this node");
        return;
      }
      const endpoints = this.#joinEndpoints();
      if (endpoints.length > 0) {
        try {
          this.#plan = await this.#join(endpoints, signal);
          this.#phase = "starting";
          this.#ensureVoter();
          return;
        } catch (err) {
          if (signal.aborted) break;
          lastError = errorText(err);
        }
      }
      if (Date.now() - lastNag >= nagEvery) {
        lastNag = Date.now();
        const message =
          `etcd is waiting to join the cluster; if this node is the first control plane, run \`osctl bootstrap\` against ${this.#o.address}` +
          (endpoints.length > 0
            ? ` (cannot join through ${endpoints.join(", ")}: ${lastError})`
            : "");
        this.#o.notify(message);
        this.#o.log.info("etcd waits", { message });
      }
      await this.#poke.wait(signal, joinEvery);
    }
    this.#phase = "idle";
    signal.throwIfAborted();
  }

  /** Adds this node as a learner; the plan to start it with. */
  async #join(endpoints: string[], signal: AbortSignal): Promise<StartPlan> {
    const client = this.#client(endpoints);
    const name = this.#o.hostname;
    const peer = this.peerUrl;
    const list = await client.memberList({ signal });
    // Our data folder is empty: an old member of our name is a past life of
    // this node and would clash with the new one (Talos does the same).
    for (const m of list) {
      if (m.name === name) {
        this.#o.log.info("etcd: removing a stale member of this name", {
          id: m.id,
        });
        await client.memberRemove(m.id, { signal });
      }
    }
    this.#learnVoters(list);
    let id: string;
    let members: EtcdMemberInfo[];
    const mine = list.find((m) =>
      m.peerUrls.includes(peer) && m.name === "" && m.isLearner
    );
    if (mine) {
      // A learner added by an earlier attempt that never started.
      id = mine.id;
      members = list;
    } else {
      const added = await client.memberAdd([peer], { learner: true, signal });
      id = added.member.id;
      members = added.members.length > 0 ? added.members : [added.member];
    }
    const initialCluster = members.flatMap((m) =>
      m.peerUrls.map((u) => `${m.id === id ? name : m.name}=${u}`)
    ).filter((s) => !s.startsWith("="));
    this.#o.log.info("etcd joins the cluster as a learner", {
      id,
      through: endpoints.join(","),
    });
    this.#o.notify(
      `etcd: joining the cluster as a learner (member ${id}) through ${
        endpoints.join(", ")
      }`,
    );
    return {
      initialClusterState: "existing",
      initialCluster: initialCluster.join(","),
    };
  }

  /**
   * Promotes this member once it has caught up, if it is a learner: asks the
   * voting members, with backoff, until it is a voter or machined stops.
   */
  #ensureVoter(): void {
    if (this.#promoting) return;
    const signal = this.#o.signal;
    const log = this.#o.log;
    this.#promoting = (async () => {
      let delay = 1000;
      while (!signal.aborted) {
        await sleep(delay, signal);
        if (signal.aborted) return;
        delay = Math.min(delay * 2, 15_000);
        try {
          const list = await this.clusterClient().memberList({ signal });
          this.#learnVoters(list);
          const me = list.find((m) =>
            m.name === this.#o.hostname || m.peerUrls.includes(this.peerUrl)
          );
          if (!me) continue;
          if (!me.isLearner) return;
          const voters = this.#voters.filter((u) => u !== this.clientUrl);
          if (voters.length === 0) continue;
          await this.#client(voters).memberPromote(me.id, { signal });
          log.info("etcd member promoted to a voter", { id: me.id });
          this.#o.notify(`etcd: promoted member ${me.id} to a voting member`);
          return;
        } catch (err) {
          if (signal.aborted) return;
          log.info("etcd member not promoted yet", { error: errorText(err) });
        }
      }
    })().finally(() => this.#promoting = undefined);
  }
}

/** Hands a folder and everything in it to a uid (a restored or older data dir). */
async function chownTree(
  path: string,
  uid: number,
  gid: number,
): Promise<void> {
  await Deno.chown(path, uid, gid);
  for await (const e of Deno.readDir(path)) {
    const p = `${path}/${e.name}`;
    if (e.isDirectory) await chownTree(p, uid, gid);
    else await Deno.chown(p, uid, gid);
  }
}
