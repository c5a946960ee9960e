/**
 * machined in process mode (and under image mode's PID 1): the wiring root.
 * It puts together the boot sequence, the node's services, machined's bus
 * link, the node certificates, node control and the machine API, and runs
 * the boot until Shutdown or SIGTERM/SIGINT.
 * @module
 */
import { randomPassword } from "../../lib/bus/mod.ts";
import {
  type DaemonName,
  DAEMONS,
  NATS_PORT,
  NETWORK_CONFIG_SUBJECT,
  NODE_CERT_TTL_MS,
} from "../../lib/constants/mod.ts";
import {
  createLogger,
  errorText,
  type Logger,
  STDERR_SINK,
} from "../../lib/log/mod.ts";
import { serveMachineApi } from "./api/machine_api.ts";
import { findExecutable } from "../../lib/exec/mod.ts";
import { SERVICE_IDENTITIES } from "../../lib/layout/mod.ts";
import { ETCD_SERVICE, EtcdService } from "./etcd/etcd_service.ts";
import { runBoot, SequenceRecorder, writeBootState } from "./boot_sequence.ts";
import { BusLink } from "./bus_link.ts";
import { CertSupply, trustdSecrets } from "./certificates/cert_supply.ts";
import { daemonHealth, followHealthNotices } from "./daemon_health.ts";
import { EventLog } from "./event_log.ts";
import { FileRoots } from "./files/file_roots.ts";
import { LogStore } from "./log_store.ts";
import { NodeControl, type StopReason } from "./node_control.ts";
import { nodeServices } from "./node_services.ts";
import type { DaemonLaunchContext } from "./daemon_command.ts";
import { ConfigLifecycle } from "./config_lifecycle.ts";
import type { MachineConfig } from "../../lib/config/mod.ts";
import { type Platform, processPlatform } from "./platform.ts";
import { ServiceHistory } from "./runner/history.ts";
import { GroupProcessRunner } from "./runner/process_runner.ts";
import { Supervisor } from "./runner/supervisor.ts";
import { type BuildInfo, readBuildInfo, versionInfo } from "./version_info.ts";
import { ReleaseUpgrades } from "./upgrade/release_upgrades.ts";
import { certificateOwners } from "./service_files.ts";
import {
  defaultRoot,
  derivedHostname,
  type MachinedOptions,
} from "./machined_options.ts";

/**
 * machined: writes the per-boot NATS config, supervises nats-server and the
 * daemons, and serves its part of the machine API on the bus until Shutdown
 * or SIGTERM/SIGINT.
 */
export class Machined {
  readonly logs: LogStore = new LogStore();
  readonly events: EventLog = new EventLog();
  #o: MachinedOptions;
  #log: Logger;
  #platform: Platform;
  #passwords = {} as Record<DaemonName, string>;
  #history = new ServiceHistory();
  #build: BuildInfo = { tag: "", sha: "unknown", built: "unknown" };
  #sequence: SequenceRecorder;
  #supervisor: Supervisor;
  #bus: BusLink;
  #certs: CertSupply;
  #control: NodeControl;
  #hostname: string;
  #lifecycle: ConfigLifecycle | undefined;
  #launch: DaemonLaunchContext;
  /** Stops the etcd member's background work when run() is over. */
  #etcdStop = new AbortController();
  /** The node's etcd member (control planes only). */
  readonly etcd: EtcdService | undefined;
  /** Upgrades between releases (process mode only). */
  #upgrades: ReleaseUpgrades | undefined;
  #restartRoot: string | undefined;

  /** Sets up (nothing starts until run()). */
  constructor(options: MachinedOptions) {
    const o = this.#o = options;
    const platform = this.#platform = o.platform ??
      processPlatform(o.root ?? defaultRoot());
    // The config's hostname wins: it is what ApplyConfiguration changes.
    const hostname = this.#hostname = o.config.machine.network?.hostname ??
      o.hostname ?? derivedHostname(o.address);
    const natsPort = o.natsPort ?? NATS_PORT;
    const busUrl = `nats://${this.#busHost}:${natsPort}`;
    for (const id of ["machined", ...nodeServiceIds]) this.logs.register(id);
    const log = this.#log = createLogger("machined", {
      sink: {
        write: (line) => {
          (o.logSink ?? STDERR_SINK).write(line);
          this.logs.append("machined", line);
        },
      },
    });
    for (const d of DAEMONS) this.#passwords[d] = randomPassword();
    const upgrades = this.#upgrades = platform.info.mode === "process"
      ? new ReleaseUpgrades({
        stateDir: o.stateDir,
        root: platform.launch.root,
        version: () => this.#build.tag,
        configKeys: () =>
          (lifecycle?.running() ?? o.config).machine.install?.trustedKeys ??
            [],
        trialMs: o.upgradeTrialMs,
        log: log.child({ task: "upgrade" }),
      })
      : undefined;
    if (o.config.machine.logging?.level) {
      log.setLevel(o.config.machine.logging.level);
    }
    const lifecycle = this.#lifecycle = o.configStore &&
      new ConfigLifecycle(o.configStore, {
        applyLive: (next, fields) => this.#applyLive(next, fields),
        event: (message) =>
          this.#sequence.record("config", "progress", message),
      }, log.child({ task: "config" }));
    this.#sequence = new SequenceRecorder(this.events, log, this.#history);
    const etcd = this.etcd = o.config.machine.type === "controlplane"
      ? new EtcdService({
        etcdPath: o.etcdPath ?? findExecutable("etcd"),
        dataDir: o.etcdDataDir,
        identity: platform.launch.dropPrivileges
          ? SERVICE_IDENTITIES.etcd
          : undefined,
        config: o.config,
        address: o.address,
        hostname,
        stateDir: o.stateDir,
        certTtlMs: o.certTtlMs ?? NODE_CERT_TTL_MS,
        log: log.child({ task: "etcd" }),
        notify: (message) =>
          this.events.emit("service", {
            service: ETCD_SERVICE,
            state: "Preparing",
            message,
          }),
        signal: this.#etcdStop.signal,
        backoff: o.backoff,
        healthSettings: o.healthSettings,
        waitForAddress: platform.waitForAddress?.bind(platform),
        stopService: () => this.#supervisor.stop(ETCD_SERVICE),
      })
      : undefined;
    this.#certs = new CertSupply({
      config: o.config,
      address: o.address,
      hostname,
      stateDir: o.stateDir,
      log: log.child({ task: "nodecerts" }),
      ttlMs: o.certTtlMs,
      owners: platform.launch.dropPrivileges ? certificateOwners() : undefined,
    });
    this.#bus = new BusLink({
      url: busUrl,
      password: this.#passwords.machined,
      log,
      onConnected: (bus, signal) => {
        followHealthNotices(bus, (d) => supervisor.pokeHealth(d), log, signal);
        serveMachineApi(bus, {
          identity: {
            hostname: () => this.#hostname,
            version: () => ({
              version: versionInfo(this.#build),
              platform: { ...platform.info },
            }),
          },
          services: control,
          config: {
            config: () => lifecycle?.running() ?? o.config,
            apply: lifecycle && ((req, actor) => lifecycle.apply(req, actor)),
            configHistory: lifecycle &&
              ((withDiff) => lifecycle.history(withDiff)),
            saveConfig: platform.saveConfig?.bind(platform),
            shuttingDown: () => control.shuttingDown(),
            power: control,
          },
          logs: this.logs,
          events: this.events,
          clientConfig: { config: () => o.config, address: o.address },
          files: new FileRoots([
            o.stateDir,
            "/proc",
            "/sys",
            ...platform.fileRoots ?? [],
          ]),
          etcd,
          upgrades: upgrades && {
            upgrade: async (image, opts) => {
              const r = await upgrades.upgrade(image, opts);
              const root = r.restartRoot;
              return {
                ack: r.ack,
                after: root === undefined
                  ? undefined
                  : () => Promise.resolve(this.#restartInto(root, r.ack)),
              };
            },
            rollback: async () => {
              const r = await upgrades.rollback();
              return {
                ack: r.ack,
                after: () =>
                  Promise.resolve(this.#restartInto(r.restartRoot!, r.ack)),
              };
            },
          },
        }, log);
        this.#sequence.record(
          "boot",
          "progress",
          "Serving the machine API on the bus",
        );
      },
    });
    // One object the daemons' commands are made from at each start: a
    // reboot with another config changes it in place.
    this.#launch = {
      ...platform.launch,
      address: o.address,
      hostname,
      stateDir: o.stateDir,
      controlPlane: o.config.machine.type === "controlplane",
      natsPort,
      busUrl,
    };
    const services = nodeServices({
      launch: this.#launch,
      natsServerPath: o.natsServerPath,
      natsConfigPath: this.natsConfigPath,
      passwords: this.#passwords,
      host: {
        trustdSecrets: () => trustdSecrets(o.config),
        networkConfig: () => o.network ?? o.config.machine.network,
        daemonHealth: (d, signal) => daemonHealth(this.#bus.bus, d, signal),
        busHealth: () => this.#bus.health(),
        prepareCerts: (d, signal) => this.#certs.prepare(d, signal),
      },
      backoff: o.backoff,
      healthSettings: o.healthSettings,
      parentEnv: Deno.env.toObject(),
      waitForAddress: platform.waitForAddress?.bind(platform),
    });
    // A control plane without an etcd CA (a config made before etcd) has no
    // etcd service; Bootstrap then says why.
    if (etcd && o.config.cluster.etcd) {
      this.logs.register(ETCD_SERVICE);
      services.push(etcd.spec());
    }
    const supervisor = this.#supervisor = new Supervisor(
      services,
      {
        runner: platform.runner ?? new GroupProcessRunner({ log }),
        onEvent: (id, e) => {
          const event = { service: id, state: e.state, message: e.message };
          this.events.emit("service", event);
          log.info("service", event);
        },
        onLine: (id, line) => this.logs.append(id, line),
      },
    );
    const control = this.#control = new NodeControl({
      supervisor,
      rebootInPlace: platform.rebootInPlace,
      sequence: this.#sequence,
      history: this.#history,
      closeBus: () => this.#bus.close(),
      beforeRebootStart: () => this.#bootWithStoredConfig(),
    });
  }

  /**
   * Makes the running node match `next` in live fields: machined's own
   * (hostname, log level) at once; a changed network section goes to
   * networkd's reconciler, whose failure (why it failed) refuses the apply.
   */
  async #applyLive(
    next: MachineConfig,
    fields: readonly string[],
  ): Promise<void> {
    if (
      this.#o.network === undefined &&
      fields.some((f) =>
        f.startsWith(".machine.network.interfaces") ||
        f.startsWith(".machine.network.nameservers")
      )
    ) {
      await this.#pushNetwork(next);
    }
    this.#o.config = next;
    if (fields.includes(".machine.network.hostname")) {
      this.#hostname = next.machine.network?.hostname ?? this.#o.hostname ??
        derivedHostname(this.#o.address);
      this.#log.info("hostname changed", { hostname: this.#hostname });
    }
    if (fields.includes(".machine.logging.level")) {
      this.#log.setLevel(next.machine.logging?.level ?? "info");
      this.#log.info("log level changed", { level: this.#log.level });
    }
    if (
      fields.includes(".machine.certSANs") ||
      fields.includes(".machine.network.hostname")
    ) {
      // Reissued in the background; apid reloads them, no call dropped.
      await this.#certs.update(next, this.#hostname);
    }
  }

  async #pushNetwork(next: MachineConfig): Promise<void> {
    const bus = this.#bus.bus;
    if (!bus) throw new Error("machined is not on the bus");
    const reply = await bus.request(
      NETWORK_CONFIG_SUBJECT,
      new TextEncoder().encode(JSON.stringify({
        network: next.machine.network ?? {},
        hostname: next.machine.network?.hostname,
      })),
      { timeoutMs: 30_000 },
    );
    const result = JSON.parse(new TextDecoder().decode(reply));
    this.#log.info("network reconciled", {
      changes: result.changes,
      applied: result.applied,
    });
  }

  /**
   * An in-place reboot boots with the stored config, as a real boot does: a
   * staged config is accepted first and a try in progress ends; when the
   * config changed, the daemons start with it and the node certificates
   * are issued again for it.
   */
  async #bootWithStoredConfig(): Promise<void> {
    const lifecycle = this.#lifecycle;
    if (!lifecycle) return;
    const staged = await lifecycle.store.promoteStaged();
    if (staged) {
      this.#sequence.record(
        "reboot",
        "progress",
        `Accepted the staged config #${staged.seq} (from ${staged.actor})`,
      );
    }
    const next = lifecycle.reload();
    if (JSON.stringify(next) === JSON.stringify(this.#o.config)) return;
    this.#o.config = next;
    this.#hostname = next.machine.network?.hostname ?? this.#o.hostname ??
      derivedHostname(this.#o.address);
    this.#log.setLevel(next.machine.logging?.level ?? "info");
    this.#launch.hostname = this.#hostname;
    this.#launch.controlPlane = next.machine.type === "controlplane";
    await this.#certs.update(next, this.#hostname).catch((err) =>
      this.#log.error("node certificates failed", { error: errorText(err) })
    );
    this.#sequence.record(
      "reboot",
      "progress",
      "Booting with the stored config",
    );
  }

  /** The nats-server config (0600; tests read the apid password from it). */
  get natsConfigPath(): string {
    return `${this.#o.stateDir}/run/nats.conf`;
  }

  get #busHost(): string {
    return this.#platform.launch.busHost ?? this.#o.address;
  }

  /** The release root to restart into once run() has returned, if any. */
  get restartRoot(): string | undefined {
    return this.#restartRoot;
  }

  #restartInto(root: string, why: string): void {
    this.#restartRoot = root;
    this.#sequence.record("upgrade", "progress", why);
    this.#control.requestShutdown(`restart into ${root}: ${why}`);
  }

  /**
   * Every service Running, none failing its health check, apid healthy
   * (etcd aside: before bootstrap it waits, by design).
   */
  #healthy(): boolean {
    const all = this.#supervisor.list().filter((s) => s.id !== ETCD_SERVICE);
    return all.length > 0 &&
      all.every((s) =>
        s.state === "Running" && (s.health.unknown || s.health.healthy)
      ) &&
      all.some((s) => s.id === "apid" && !s.health.unknown && s.health.healthy);
  }

  async #watchTrial(signal: AbortSignal): Promise<void> {
    const upgrades = this.#upgrades;
    if (!upgrades) return;
    try {
      const back = await upgrades.watchTrial(() => this.#healthy(), signal);
      if (back !== undefined) {
        this.#restartInto(back, "the new release did not get healthy in time");
      }
    } catch (err) {
      this.#log.error("upgrade trial failed", { error: errorText(err) });
    }
  }

  /** Why run() returned (meaningful once it has). */
  get stopReason(): StopReason {
    return this.#control.stopReason;
  }

  /**
   * Boots the node and runs until Shutdown or SIGTERM/SIGINT; returns the
   * exit code (0 after an orderly shutdown).
   */
  run(): Promise<number> {
    const o = this.#o;
    const trial = new AbortController();
    this.#watchTrial(trial.signal);
    return runBoot({
      mode: this.#platform.info.mode,
      sequence: this.#sequence,
      history: this.#history,
      log: this.#log,
      prepare: async () => {
        this.#build = await readBuildInfo(this.#platform.launch.root);
        await writeBootState({
          stateDir: o.stateDir,
          natsConfigPath: this.natsConfigPath,
          busHost: this.#busHost,
          natsPort: o.natsPort ?? NATS_PORT,
          passwords: this.#passwords,
          grantToServices: this.#platform.launch.dropPrivileges,
        });
      },
      startCertificates: (signal) => this.#certs.start(signal),
      services: this.#supervisor,
      connectBus: (signal) => this.#bus.connect(this.#supervisor, signal),
      control: this.#control,
      onReady: o.onReady,
    }).finally(() => {
      trial.abort();
      this.#lifecycle?.close();
      this.#etcdStop.abort();
    });
  }

  /** Begins an orderly shutdown now (run() then returns 0). */
  shutdown(reason: string): void {
    this.#lifecycle?.close();
    this.#control.requestShutdown(reason);
  }
}

/** The services machined keeps logs of besides its own. */
const nodeServiceIds = ["nats", "udevd", "networkd", "trustd", "apid"];
