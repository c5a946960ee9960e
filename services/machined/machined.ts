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
} from "../../lib/constants/mod.ts";
import { createLogger, type Logger, STDERR_SINK } from "../../lib/log/mod.ts";
import { serveMachineApi } from "./api/machine_api.ts";
import { runBoot, SequenceRecorder, writeBootState } from "./boot_sequence.ts";
import { BusLink } from "./bus_link.ts";
import { CertSupply, trustdSecrets } from "./certificates/cert_supply.ts";
import { daemonHealth, followHealthNotices } from "./daemon_health.ts";
import { EventLog } from "./event_log.ts";
import { LogStore } from "./log_store.ts";
import { NodeControl, type StopReason } from "./node_control.ts";
import { nodeServices } from "./node_services.ts";
import { type Platform, processPlatform } from "./platform.ts";
import { ServiceHistory } from "./runner/history.ts";
import { GroupProcessRunner } from "./runner/process_runner.ts";
import { Supervisor } from "./runner/supervisor.ts";
import { type BuildInfo, readBuildInfo, versionInfo } from "./version_info.ts";
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

  /** Sets up (nothing starts until run()). */
  constructor(options: MachinedOptions) {
    const o = this.#o = options;
    const platform = this.#platform = o.platform ??
      processPlatform(o.root ?? defaultRoot());
    const hostname = o.hostname ?? o.config.machine.network?.hostname ??
      derivedHostname(o.address);
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
    this.#sequence = new SequenceRecorder(this.events, log, this.#history);
    this.#certs = new CertSupply({
      config: o.config,
      address: o.address,
      hostname,
      stateDir: o.stateDir,
      log: log.child({ task: "nodecerts" }),
      ttlMs: o.certTtlMs,
    });
    this.#bus = new BusLink({
      url: busUrl,
      password: this.#passwords.machined,
      log,
      onConnected: (bus, signal) => {
        followHealthNotices(bus, (d) => supervisor.pokeHealth(d), log, signal);
        serveMachineApi(bus, {
          identity: {
            hostname: () => hostname,
            version: () => ({
              version: versionInfo(this.#build),
              platform: { ...platform.info },
            }),
          },
          services: control,
          config: {
            config: () => o.config,
            saveConfig: platform.saveConfig?.bind(platform),
            shuttingDown: () => control.shuttingDown(),
            power: control,
          },
          logs: this.logs,
          events: this.events,
          clientConfig: { config: () => o.config, address: o.address },
        }, log);
        this.#sequence.record(
          "boot",
          "progress",
          "Serving the machine API on the bus",
        );
      },
    });
    const supervisor = this.#supervisor = new Supervisor(
      nodeServices({
        launch: {
          ...platform.launch,
          address: o.address,
          hostname,
          stateDir: o.stateDir,
          controlPlane: o.config.machine.type === "controlplane",
          natsPort,
          busUrl,
        },
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
      }),
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
    });
  }

  /** The nats-server config (0600; tests read the apid password from it). */
  get natsConfigPath(): string {
    return `${this.#o.stateDir}/run/nats.conf`;
  }

  get #busHost(): string {
    return this.#platform.launch.busHost ?? this.#o.address;
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
        });
      },
      startCertificates: (signal) => this.#certs.start(signal),
      services: this.#supervisor,
      connectBus: (signal) => this.#bus.connect(this.#supervisor, signal),
      control: this.#control,
      onReady: o.onReady,
    });
  }

  /** Begins an orderly shutdown now (run() then returns 0). */
  shutdown(reason: string): void {
    this.#control.requestShutdown(reason);
  }
}

/** The services machined keeps logs of besides its own. */
const nodeServiceIds = ["nats", "udevd", "networkd", "trustd", "apid"];
