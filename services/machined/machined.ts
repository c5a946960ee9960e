import {
  HealthRequest,
  HealthResponse,
} from "../../lib/api/gen/machine/machine.ts";
import {
  Bus,
  callTyped,
  natsServerConfig,
  randomPassword,
} from "../../lib/bus/mod.ts";
import { ApiError } from "../../lib/api_error/mod.ts";
import type { MachineConfig, NetworkConfig } from "../../lib/config/mod.ts";
import type { NodeCertificates } from "./certificates/node_certificates.ts";
import {
  type DaemonName,
  DAEMONS,
  HEALTH_NOTICES,
  healthNoticeDaemon,
  healthSubject,
  NATS_PORT,
} from "../../lib/constants/mod.ts";
import {
  createLogger,
  errorText,
  type Logger,
  type LogSink,
  STDERR_SINK,
} from "../../lib/log/mod.ts";
import { readProcess } from "../../lib/procfs/mod.ts";
import { base64ToBytes } from "../../lib/pem/mod.ts";
import type {
  ApplyConfiguration,
  ProcessInfo,
} from "../../lib/api/gen/machine/machine.ts";
import { checkApplyRequest } from "./apply_config.ts";
import { type Platform, processPlatform } from "./platform.ts";
import { listProcessInfo } from "./processes.ts";
import { type MachineBackend, serveMachineApi } from "./api/machine_api.ts";
import { certsDir, type SupervisedDaemon } from "./daemon_permissions.ts";
import { EventLog } from "./event_log.ts";
import { LogStore } from "./log_store.ts";
import { nodeServices, type TrustdSecrets } from "./node_services.ts";
import type { BackoffOptions } from "./runner/backoff.ts";
import type { HealthSettings } from "./runner/health.ts";
import { ServiceHistory } from "./runner/history.ts";
import { sleep } from "./runner/notifier.ts";
import { GroupProcessRunner } from "./runner/process_runner.ts";
import type { ServiceSnapshot } from "./runner/service_runner.ts";
import { Supervisor } from "./runner/supervisor.ts";
import { type BuildInfo, readBuildInfo } from "./version_info.ts";
import { untilAborted } from "../../lib/daemon/mod.ts";

/** Everything machined needs to run a node in process mode. */
export interface MachinedOptions {
  /** The node's state folder (absolute); nothing is written elsewhere. */
  stateDir: string;
  /** The node's IPv4 address; NATS and the API ports bind here. */
  address: string;
  /** The validated machine config. */
  config: MachineConfig;
  /** The hostname (default: config, else derived from the address). */
  hostname?: string;
  /** The nats-server binary. */
  natsServerPath: string;
  /** The NATS port (default 4222). */
  natsPort?: number;
  /** Source root holding deno.json and services/ (default: this checkout). */
  root?: string;
  /** Restart backoff (default: 1 s doubling to 30 s, reset after 60 s). */
  backoff?: BackoffOptions;
  /** Health timing of every service. */
  healthSettings?: Partial<HealthSettings>;
  /** Node certificate lifetime (ms; default 24 h, renewed at half-life). */
  certTtlMs?: number;
  /** The network section networkd gets (default: the config's). */
  network?: NetworkConfig;
  /** Process or image mode (default: process mode from `root`). */
  platform?: Platform;
  /** Where machined's own log lines go besides Logs (default stderr). */
  logSink?: LogSink;
  /** Called once, when every service is up for the first time. */
  onReady?: () => void;
}

/** Why run() returned: an orderly stop, or a reboot/power-off to carry out. */
export type StopReason = "shutdown" | "reboot";

/** The services the API may not start, stop or restart. */
const NOT_VIA_API = new Set(["machined"]);
/** Delay between an API reply and the action it announced (ms). */
const AFTER_REPLY_MS = 100;

/** The source root of this checkout (holds deno.json). */
export function defaultRoot(): string {
  return new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
}

/** The hostname of a node without one configured: "bronze-127-5-0-2". */
export function derivedHostname(address: string): string {
  return `bronze-${address.replaceAll(".", "-").replaceAll(":", "-")}`;
}

/**
 * machined in process mode: writes the per-boot NATS config, supervises
 * nats-server and the daemons, and serves its part of the machine API on the
 * bus until Shutdown or SIGTERM/SIGINT.
 */
export class Machined implements MachineBackend {
  readonly logs: LogStore = new LogStore();
  readonly events: EventLog = new EventLog();
  #o: MachinedOptions;
  #log: Logger;
  #root: string;
  #hostname: string;
  #natsPort: number;
  #passwords: Record<DaemonName, string>;
  #supervisor: Supervisor;
  #history = new ServiceHistory();
  #started = Date.now();
  #build: BuildInfo = { tag: "", sha: "unknown", built: "unknown" };
  #bus: Bus | undefined;
  #busUp = false;
  #rebooting = false;
  #shutdown = new AbortController();
  #shutdownDone: Promise<void> | undefined;
  #certs: Promise<NodeCertificates> | undefined;
  #platform: Platform;
  #stopReason: StopReason = "shutdown";
  #applying = false;

  /** Sets up (nothing starts until run()). */
  constructor(options: MachinedOptions) {
    this.#o = options;
    this.#platform = options.platform ??
      processPlatform(options.root ?? defaultRoot());
    this.#root = this.#platform.launch.root;
    this.#natsPort = options.natsPort ?? NATS_PORT;
    this.#hostname = options.hostname ??
      options.config.machine.network?.hostname ??
      derivedHostname(options.address);
    for (
      const id of ["machined", "nats", "udevd", "networkd", "trustd", "apid"]
    ) {
      this.logs.register(id);
    }
    this.#log = createLogger("machined", {
      sink: {
        write: (line) => {
          (options.logSink ?? STDERR_SINK).write(line);
          this.logs.append("machined", line);
        },
      },
    });
    this.#passwords = {} as Record<DaemonName, string>;
    for (const d of DAEMONS) this.#passwords[d] = randomPassword();
    const controlPlane = options.config.machine.type === "controlplane";
    const launch = this.#platform.launch;
    this.#supervisor = new Supervisor(
      nodeServices({
        launch: {
          root: this.#root,
          denoPath: launch.denoPath,
          bundleDir: launch.bundleDir,
          busHost: launch.busHost,
          applyNetwork: launch.applyNetwork,
          loadModules: launch.loadModules,
          address: options.address,
          hostname: this.#hostname,
          stateDir: options.stateDir,
          controlPlane,
          natsPort: this.#natsPort,
          busUrl: this.#busUrl,
        },
        natsServerPath: options.natsServerPath,
        natsConfigPath: this.natsConfigPath,
        passwords: this.#passwords,
        trustdSecrets: () => this.#trustdSecrets(),
        networkConfig: () => options.network ?? options.config.machine.network,
        daemonHealth: (d, signal) => this.#daemonHealth(d, signal),
        busPing: () => this.#bus && this.#busUp ? this.#bus.flush() : undefined,
        busProblem: () =>
          this.#bus && !this.#busUp
            ? "machined's bus connection is down"
            : undefined,
        prepareCerts: (d, signal) => this.#prepareCerts(d, signal),
        backoff: options.backoff,
        healthSettings: options.healthSettings,
        parentEnv: Deno.env.toObject(),
        waitForAddress: this.#platform.waitForAddress?.bind(this.#platform),
      }),
      {
        runner: this.#platform.runner ??
          new GroupProcessRunner({ log: this.#log }),
        onEvent: (id, e) => {
          this.events.emit("service", {
            service: id,
            state: e.state,
            message: e.message,
          });
          this.#log.info("service", {
            service: id,
            state: e.state,
            message: e.message,
          });
        },
        onLine: (id, line) => this.logs.append(id, line),
      },
    );
  }

  /** The nats-server config (0600; tests read the apid password from it). */
  get natsConfigPath(): string {
    return `${this.#o.stateDir}/run/nats.conf`;
  }

  get #busHost(): string {
    return this.#platform.launch.busHost ?? this.#o.address;
  }

  get #busUrl(): string {
    return `nats://${this.#busHost}:${this.#natsPort}`;
  }

  /** Why run() returned (meaningful once it has). */
  get stopReason(): StopReason {
    return this.#stopReason;
  }

  /**
   * Boots the node and runs until Shutdown or SIGTERM/SIGINT; returns the
   * exit code (0 after an orderly shutdown).
   */
  async run(): Promise<number> {
    const onSignal = () => this.#requestShutdown("signal");
    Deno.addSignalListener("SIGTERM", onSignal);
    Deno.addSignalListener("SIGINT", onSignal);
    try {
      this.#history.push({
        ts: Date.now(),
        state: "Running",
        message: `Started machined (PID ${Deno.pid})`,
      });
      this.#sequence(
        "boot",
        "start",
        `Booting in ${this.#platform.info.mode} mode`,
      );
      this.#build = await readBuildInfo(this.#root);
      await this.#writeState();
      this.#sequence("boot", "progress", "Wrote the per-boot bus config");
      // Issued in the background; apid and trustd wait for them to be ready.
      // Their code (X.509) loads after the services have started, beside
      // nats-server's own start, rather than before anything runs.
      const certs = this.#startCertificates();
      this.#certs = certs;
      this.#supervisor.startAll();
      this.#sequence("boot", "progress", "Started the services");
      await certs;
      await Promise.all([this.#connectBus(), this.#watchBoot()]);
      await this.#waitForShutdownRequest();
      await this.#shutdownDone;
      return 0;
    } catch (err) {
      this.#log.error("machined failed", { error: errorText(err) });
      this.#shutdown.abort();
      await this.#stopEverything();
      return 1;
    } finally {
      Deno.removeSignalListener("SIGTERM", onSignal);
      Deno.removeSignalListener("SIGINT", onSignal);
    }
  }

  #sequence(name: string, state: string, message: string): void {
    this.events.emit("sequence", { state, message: `${name}: ${message}` });
    this.#log.info("sequence", { sequence: name, state, message });
    if (state !== "progress") {
      this.#history.push({
        ts: Date.now(),
        state: "Running",
        message: `${name} ${state}: ${message}`,
      });
    }
  }

  async #writeState(): Promise<void> {
    const dir = this.#o.stateDir;
    await Deno.mkdir(`${dir}/run`, { recursive: true, mode: 0o700 });
    await Deno.chmod(`${dir}/run`, 0o700);
    await this.#claimStateDir();
    for (const d of ["apid", "trustd"] as const) {
      await Deno.mkdir(certsDir(dir, d), { recursive: true, mode: 0o700 });
    }
    const text = natsServerConfig({
      host: this.#busHost,
      port: this.#natsPort,
      passwords: this.#passwords,
    });
    const tmp = `${this.natsConfigPath}.tmp`;
    await Deno.writeTextFile(tmp, text, { mode: 0o600 });
    await Deno.chmod(tmp, 0o600);
    await Deno.rename(tmp, this.natsConfigPath);
  }

  /** Refuses a state dir another live machined is using; records our pid. */
  async #claimStateDir(): Promise<void> {
    const pidFile = `${this.#o.stateDir}/run/machined.pid`;
    const other = Number(
      (await Deno.readTextFile(pidFile).catch(() => "")).trim(),
    );
    if (other && other !== Deno.pid) {
      const p = await readProcess(other).catch(() => undefined);
      if (
        p && p.state !== "Z" &&
        p.argv.some((a) => a === this.#o.stateDir)
      ) {
        throw new Error(
          `Cannot boot: machined (PID ${other}) already runs on state dir ${
            JSON.stringify(this.#o.stateDir)
          }`,
        );
      }
    }
    await Deno.writeTextFile(pidFile, `${Deno.pid}\n`, { mode: 0o600 });
  }

  async #connectBus(): Promise<void> {
    const signal = this.#shutdown.signal;
    while (!signal.aborted) {
      if (!this.#supervisor.isUp("nats")) {
        await this.#supervisor.waitForChange(signal);
        continue;
      }
      try {
        const bus = await Bus.connect({
          url: this.#busUrl,
          user: "machined",
          pass: this.#passwords.machined,
        }, {
          connectTimeoutMs: 10000,
          onStatus: (event) => {
            if (event === "disconnect") this.#busUp = false;
            if (event === "reconnect") this.#busUp = true;
            if (event !== "ping") {
              this.#log.info("bus status", { event });
            }
          },
        });
        this.#busUp = true;
        this.#bus = bus;
        this.#followHealthNotices(bus, signal);
        serveMachineApi(bus, this, this.#log, {
          config: () => this.#o.config,
          address: this.#o.address,
        });
        this.#sequence(
          "boot",
          "progress",
          "Serving the machine API on the bus",
        );
        return;
      } catch (err) {
        this.#log.warn("cannot connect to the bus yet", {
          error: errorText(err),
        });
        await sleep(1000, signal);
      }
    }
  }

  /** A daemon's health notice: check it now rather than at the next poll. */
  #followHealthNotices(bus: Bus, signal: AbortSignal): void {
    (async () => {
      for await (const m of bus.subscribe(HEALTH_NOTICES, { signal })) {
        const daemon = healthNoticeDaemon(m.subject);
        if (daemon !== undefined) this.#supervisor.pokeHealth(daemon);
      }
    })().catch((err) => {
      if (!signal.aborted) {
        this.#log.warn("health notices stopped", { error: errorText(err) });
      }
    });
  }

  async #watchBoot(): Promise<void> {
    const signal = this.#shutdown.signal;
    while (!signal.aborted) {
      if (this.#supervisor.order.every((id) => this.#supervisor.isUp(id))) {
        this.#sequence("boot", "stop", "All services are up");
        this.#o.onReady?.();
        return;
      }
      await this.#supervisor.waitForChange(signal);
    }
  }

  #waitForShutdownRequest(): Promise<void> {
    return untilAborted(this.#shutdown.signal);
  }

  #requestShutdown(reason: string): void {
    if (this.#shutdownDone) return;
    this.#sequence("shutdown", "start", `Shutting down (${reason})`);
    this.#shutdownDone = this.#stopEverything().then(() =>
      this.#sequence("shutdown", "stop", "Every service is stopped")
    );
    this.#shutdown.abort();
  }

  async #stopEverything(): Promise<void> {
    for (const id of [...this.#supervisor.order].reverse()) {
      if (id === "nats") await this.#closeBus();
      await this.#supervisor.stop(id);
    }
    await this.#closeBus();
  }

  async #closeBus(): Promise<void> {
    const bus = this.#bus;
    this.#bus = undefined;
    if (!bus) return;
    const ac = new AbortController();
    await Promise.race([bus.close(), sleep(2000, ac.signal)]);
    ac.abort();
  }

  async #daemonHealth(
    daemon: SupervisedDaemon,
    signal: AbortSignal,
  ): Promise<void> {
    const bus = this.#bus;
    if (!bus) throw new Error("machined is not on the bus yet");
    const res = await callTyped(
      bus,
      healthSubject(daemon),
      { req: HealthRequest, res: HealthResponse },
      {},
      { timeoutMs: 2000, signal },
    );
    if (!res.healthy) throw new Error(res.message || "unhealthy");
  }

  async #startCertificates(): Promise<NodeCertificates> {
    // One turn of the event loop: the services' processes are spawned first.
    await new Promise((r) => setTimeout(r, 0));
    const { runNodeCertificates } = await import(
      "./certificates/node_certificates.ts"
    );
    return runNodeCertificates({
      config: this.#o.config,
      address: this.#o.address,
      hostname: this.#hostname,
      stateDir: this.#o.stateDir,
      signal: this.#shutdown.signal,
      log: this.#log.child({ task: "nodecerts" }),
      ttlMs: this.#o.certTtlMs,
    });
  }

  async #prepareCerts(
    daemon: "apid" | "trustd",
    signal: AbortSignal,
  ): Promise<void> {
    await Deno.mkdir(certsDir(this.#o.stateDir, daemon), {
      recursive: true,
      mode: 0o700,
    });
    const certs = await this.#certs;
    if (!certs) throw new Error("node certificates are not running");
    // Control planes mint them; workers wait for a control plane's trustd.
    let onAbort: (() => void) | undefined;
    try {
      await Promise.race([
        certs.ready(),
        new Promise<void>((_, reject) => {
          onAbort = () =>
            reject(new Error(`stopped waiting for ${daemon}'s certificates`));
          if (signal.aborted) onAbort();
          else signal.addEventListener("abort", onAbort, { once: true });
        }),
      ]);
    } finally {
      if (onAbort) signal.removeEventListener("abort", onAbort);
    }
  }

  #trustdSecrets(): TrustdSecrets {
    const ca = this.#o.config.machine.ca;
    const pem = (b64: string | undefined) =>
      b64 ? new TextDecoder().decode(base64ToBytes(b64)) : "";
    return {
      caCrt: pem(ca.crt),
      caKey: pem(ca.key),
      token: this.#o.config.machine.token,
    };
  }

  // ---- MachineBackend ----

  /** The machine config the node runs with. */
  machineConfig(): MachineConfig {
    return this.#o.config;
  }

  /** The node's hostname. */
  hostname(): string {
    return this.#hostname;
  }

  /** Build and platform facts. */
  version(): ReturnType<MachineBackend["version"]> {
    return {
      version: {
        tag: this.#build.tag,
        sha: this.#build.sha,
        built: this.#build.built,
        denoVersion: Deno.version.deno,
        os: Deno.build.os,
        arch: Deno.build.arch,
      },
      platform: { ...this.#platform.info },
    };
  }

  /** machined itself, then every supervised service. */
  services(): ServiceSnapshot[] {
    const self: ServiceSnapshot = {
      id: "machined",
      state: this.#shutdownDone ? "Stopping" : "Running",
      health: {
        unknown: false,
        healthy: true,
        lastMessage: "",
        lastChange: this.#started,
      },
      pid: Deno.pid,
      events: this.#history.list(),
      dependsOn: [],
    };
    return [self, ...this.#supervisor.list()];
  }

  #checkServiceId(id: string, op: string): void {
    if (this.#shutdownDone) {
      throw new ApiError("Unavailable", "the node is shutting down");
    }
    if (!id) throw new ApiError("InvalidArgument", "service id is required");
    if (NOT_VIA_API.has(id)) {
      throw new ApiError(
        "FailedPrecondition",
        `service "${id}" doesn't support ${op} operation via API`,
      );
    }
    if (!this.#supervisor.has(id)) {
      throw new ApiError("NotFound", `service "${id}" not defined`);
    }
    if (this.#supervisor.get(id).state === "Skipped") {
      throw new ApiError(
        "FailedPrecondition",
        `service "${id}" is skipped on this node (${
          this.#supervisor.get(id).events.at(-1)?.message ?? "condition"
        })`,
      );
    }
  }

  #afterReply(what: string, fn: () => Promise<void>): void {
    setTimeout(() => {
      fn().catch((err) =>
        this.#log.error("deferred operation failed", {
          what,
          error: errorText(err),
        })
      );
    }, AFTER_REPLY_MS);
  }

  /** Starts a service now. */
  serviceStart(id: string): string {
    this.#checkServiceId(id, "start");
    this.#supervisor.start(id);
    return `Service "${id}" started`;
  }

  /** Stops a service just after replying. */
  serviceStop(id: string): string {
    this.#checkServiceId(id, "stop");
    this.#afterReply(`stop ${id}`, () => this.#supervisor.stop(id));
    return `Service "${id}" stop requested`;
  }

  /** Restarts a service just after replying (so apid's reply gets out). */
  serviceRestart(id: string): string {
    this.#checkServiceId(id, "restart");
    this.#afterReply(`restart ${id}`, () => this.#supervisor.restart(id));
    return `Service "${id}" restart requested`;
  }

  /**
   * Restarts every service in place, in order, just after replying; where
   * the platform reboots the machine, stops everything and run() returns
   * with stopReason "reboot".
   */
  reboot(): string {
    if (this.#shutdownDone) {
      throw new ApiError("Unavailable", "the node is shutting down");
    }
    if (this.#rebooting) {
      throw new ApiError("FailedPrecondition", 'sequence "reboot" is running');
    }
    const actor = crypto.randomUUID();
    if (!this.#platform.rebootInPlace) {
      this.#rebooting = true;
      this.#afterReply("reboot", () => {
        this.#stopReason = "reboot";
        this.#requestShutdown(`reboot, actor ${actor}`);
        return Promise.resolve();
      });
      return actor;
    }
    this.#rebooting = true;
    this.#afterReply("reboot", async () => {
      try {
        this.#sequence(
          "reboot",
          "start",
          `Rebooting in place (actor ${actor})`,
        );
        for (const id of [...this.#supervisor.order].reverse()) {
          if (this.#shutdown.signal.aborted) return;
          await this.#supervisor.stop(id);
        }
        if (this.#shutdown.signal.aborted) return;
        this.#supervisor.startAll();
        const signal = this.#shutdown.signal;
        const deadline = Date.now() + 120000;
        while (!signal.aborted && Date.now() < deadline) {
          if (this.#supervisor.order.every((id) => this.#supervisor.isUp(id))) {
            this.#sequence("reboot", "stop", "All services are up");
            return;
          }
          await this.#supervisor.waitForChange(signal);
        }
      } finally {
        this.#rebooting = false;
      }
    });
    return actor;
  }

  /** Every process of the node, each tagged with its service. */
  async processes(): Promise<ProcessInfo[]> {
    const pids = new Map<number, string>();
    for (const s of this.services()) if (s.pid > 0) pids.set(s.pid, s.id);
    return await listProcessInfo(pids);
  }

  /**
   * ApplyConfiguration: validates (InvalidArgument listing every problem),
   * then, unless it is a dry run, persists it where the platform keeps the
   * config; "auto" and "reboot" then reboot the node, "staged" waits for the
   * next boot. Process mode refuses: its config is the --config file.
   */
  async applyConfiguration(
    data: Uint8Array,
    mode: string,
    dryRun: boolean,
  ): Promise<Omit<ApplyConfiguration, "metadata" | "diff">> {
    const checked = checkApplyRequest(data, mode);
    if (dryRun) {
      return {
        warnings: [],
        mode: checked.mode,
        modeDetails: "Dry run: the config is valid; nothing was applied",
      };
    }
    if (!this.#platform.saveConfig) {
      throw new ApiError(
        "FailedPrecondition",
        "this node reads its machine config from machined's --config file (process mode): edit that file and restart the node",
      );
    }
    if (checked.mode === "no_reboot" || checked.mode === "try") {
      throw new ApiError(
        "FailedPrecondition",
        "the config cannot be applied without a reboot: use mode auto, reboot or staged",
      );
    }
    if (this.#shutdownDone || this.#applying) {
      throw new ApiError(
        "Unavailable",
        "the node is shutting down or applying a config",
      );
    }
    this.#applying = true;
    try {
      await this.#platform.saveConfig(checked.yaml);
    } finally {
      this.#applying = false;
    }
    this.#log.info("machine config saved", { mode: checked.mode });
    if (checked.mode === "staged") {
      return {
        warnings: [],
        mode: checked.mode,
        modeDetails: "Staged: the config takes effect at the next reboot",
      };
    }
    this.reboot();
    return {
      warnings: [],
      mode: checked.mode,
      modeDetails: "Applied: the node reboots with the new config",
    };
  }

  /** Stops everything in reverse order just after replying; run() returns 0. */
  shutdown(_force: boolean): string {
    const actor = crypto.randomUUID();
    this.#afterReply("shutdown", () => {
      this.#requestShutdown(`API, actor ${actor}`);
      return Promise.resolve();
    });
    return actor;
  }
}
