/**
 * The boot's bookkeeping: sequences (boot, reboot, shutdown) recorded as
 * runtime events, log lines and machined's own service history; the
 * per-boot state folder (the bus config with fresh passwords, owner-only);
 * the wait for every service to be up; and the boot itself, from the
 * first line to the end of the shutdown.
 * @module
 */
import { ETCD_SERVICE } from "./etcd/etcd_service.ts";
import { natsServerConfig } from "../../lib/bus/mod.ts";
import type { DaemonName } from "../../lib/constants/mod.ts";
import { errorText, type Logger } from "../../lib/log/mod.ts";
import { readProcess } from "../../lib/procfs/mod.ts";
import { certsDir } from "../../lib/layout/mod.ts";
import { grantServiceFiles } from "./service_files.ts";
import type { EventLog } from "./event_log.ts";
import type { ServiceHistory } from "./runner/history.ts";

/** Records sequences: an event, a log line and, but for progress, history. */
export class SequenceRecorder {
  #events: EventLog;
  #log: Logger;
  #history: ServiceHistory;

  /** Records into `events`, `log` and machined's own `history`. */
  constructor(events: EventLog, log: Logger, history: ServiceHistory) {
    this.#events = events;
    this.#log = log;
    this.#history = history;
  }

  /** One step of sequence `name`: "start", "progress" or "stop". */
  record(name: string, state: string, message: string): void {
    this.#events.emit("sequence", { state, message: `${name}: ${message}` });
    this.#log.info("sequence", { sequence: name, state, message });
    if (state !== "progress") {
      this.#history.push({
        ts: Date.now(),
        state: "Running",
        message: `${name} ${state}: ${message}`,
      });
    }
  }
}

/** What the per-boot state is written from. */
export interface BootStateOptions {
  /** The node's state folder. */
  stateDir: string;
  /** Where the nats-server config goes (under `<stateDir>/run`). */
  natsConfigPath: string;
  /** Host and port nats-server binds. */
  busHost: string;
  /** The NATS port. */
  natsPort: number;
  /** This boot's bus passwords. */
  passwords: Readonly<Record<DaemonName, string>>;
  /** Hand the bus config and certificate folders to the services' uids. */
  grantToServices?: boolean;
}

/**
 * Makes `<state>/run` (0700) and the certificate folders, claims the state
 * folder for this machined, and writes the bus config (0600) atomically.
 */
export async function writeBootState(o: BootStateOptions): Promise<void> {
  const dir = o.stateDir;
  await Deno.mkdir(`${dir}/run`, { recursive: true, mode: 0o700 });
  await Deno.chmod(`${dir}/run`, 0o700);
  await claimStateDir(dir);
  for (const d of ["apid", "trustd"] as const) {
    await Deno.mkdir(certsDir(dir, d), { recursive: true, mode: 0o700 });
  }
  const text = natsServerConfig({
    host: o.busHost,
    port: o.natsPort,
    passwords: o.passwords,
  });
  const tmp = `${o.natsConfigPath}.tmp`;
  await Deno.writeTextFile(tmp, text, { mode: 0o600 });
  await Deno.chmod(tmp, 0o600);
  await Deno.rename(tmp, o.natsConfigPath);
  if (o.grantToServices) await grantServiceFiles(dir, o.natsConfigPath);
}

/** Refuses a state dir another live machined is using; records our pid. */
async function claimStateDir(stateDir: string): Promise<void> {
  const pidFile = `${stateDir}/run/machined.pid`;
  const other = Number(
    (await Deno.readTextFile(pidFile).catch(() => "")).trim(),
  );
  if (other && other !== Deno.pid) {
    const p = await readProcess(other).catch(() => undefined);
    if (p && p.state !== "Z" && p.argv.some((a) => a === stateDir)) {
      throw new Error(
        `Cannot boot: machined (PID ${other}) already runs on state dir ${
          JSON.stringify(stateDir)
        }`,
      );
    }
  }
  await Deno.writeTextFile(pidFile, `${Deno.pid}\n`, { mode: 0o600 });
}

/** The services a boot waits for. */
export interface ServiceStates {
  /** Every service id, in start order. */
  readonly order: readonly string[];
  /** Whether a service is up (running and healthy, or skipped). */
  isUp(id: string): boolean;
  /** Resolves at the next state change (or when `signal` aborts). */
  waitForChange(signal: AbortSignal): Promise<void>;
}

/**
 * Resolves true once every service is up, false when `signal` aborts or
 * `deadline` (ms since the epoch) passes first.
 */
export async function waitForAllUp(
  services: ServiceStates,
  signal: AbortSignal,
  deadline = Infinity,
): Promise<boolean> {
  while (!signal.aborted && Date.now() < deadline) {
    // etcd may wait for `osctl bootstrap`: as in Talos, the boot does not.
    if (
      services.order.every((id) => id === ETCD_SERVICE || services.isUp(id))
    ) {
      return true;
    }
    await services.waitForChange(signal);
  }
  return false;
}

/** What a boot runs. */
export interface BootParts {
  /** The runtime mode ("process", "image"), for the first line. */
  mode: string;
  /** Where sequences are recorded. */
  sequence: SequenceRecorder;
  /** machined's own history. */
  history: ServiceHistory;
  /** Logger. */
  log: Logger;
  /** Reads the build facts and writes the per-boot state. */
  prepare(): Promise<void>;
  /** Starts issuing the node certificates; resolves once they run. */
  startCertificates(signal: AbortSignal): Promise<unknown>;
  /** The node's services. */
  services: ServiceStates & { startAll(): void };
  /** Connects machined to the bus once nats-server is up. */
  connectBus(signal: AbortSignal): Promise<void>;
  /** The shutdown. */
  control: {
    readonly signal: AbortSignal;
    requestShutdown(reason: string): void;
    finished(): Promise<void>;
    abort(): Promise<void>;
  };
  /** Called once, when every service is up for the first time. */
  onReady?: () => void;
}

/**
 * Boots the node and runs until Shutdown or SIGTERM/SIGINT; returns the
 * exit code (0 after an orderly shutdown, 1 after a failure, every service
 * then stopped).
 */
export async function runBoot(p: BootParts): Promise<number> {
  const { control, sequence, services } = p;
  const signal = control.signal;
  const onSignal = () => control.requestShutdown("signal");
  Deno.addSignalListener("SIGTERM", onSignal);
  Deno.addSignalListener("SIGINT", onSignal);
  try {
    p.history.push({
      ts: Date.now(),
      state: "Running",
      message: `Started machined (PID ${Deno.pid})`,
    });
    sequence.record("boot", "start", `Booting in ${p.mode} mode`);
    await p.prepare();
    sequence.record("boot", "progress", "Wrote the per-boot bus config");
    // Issued in the background; apid and trustd wait for them to be ready.
    const certs = p.startCertificates(signal);
    services.startAll();
    sequence.record("boot", "progress", "Started the services");
    await certs;
    await Promise.all([
      p.connectBus(signal),
      waitForAllUp(services, signal).then((up) => {
        if (!up) return;
        sequence.record("boot", "stop", "All services are up");
        p.onReady?.();
      }),
    ]);
    await control.finished();
    return 0;
  } catch (err) {
    p.log.error("machined failed", { error: errorText(err) });
    await control.abort();
    return 1;
  } finally {
    Deno.removeSignalListener("SIGTERM", onSignal);
    Deno.removeSignalListener("SIGINT", onSignal);
  }
}
