/**
 * machined's own link to the node's bus: connects once nats-server is up
 * (retrying), tracks whether the connection is up (nats-server's health is
 * a round trip on it), and closes it, bounded, before nats-server stops.
 * @module
 */
import { Bus } from "../../lib/bus/mod.ts";
import { errorText, type Logger } from "../../lib/log/mod.ts";
import { sleep } from "./runner/notifier.ts";

/** What the link waits on before it dials. */
export interface NatsState {
  /** Whether a service is up. */
  isUp(id: string): boolean;
  /** Resolves at the next state change (or when `signal` aborts). */
  waitForChange(signal: AbortSignal): Promise<void>;
}

/** How the link reaches the bus. */
export interface BusLinkOptions {
  /** e.g. "nats://127.5.0.2:4222". */
  url: string;
  /** machined's bus password this boot. */
  password: string;
  /** Logger. */
  log: Logger;
  /** Called once connected: subscribe and serve here. */
  onConnected(bus: Bus, signal: AbortSignal): void;
}

/** machined's bus connection. */
export class BusLink {
  #o: BusLinkOptions;
  #bus: Bus | undefined;
  #up = false;

  /** Sets up (nothing dials until connect()). */
  constructor(options: BusLinkOptions) {
    this.#o = options;
  }

  /** The connection, once there is one. */
  get bus(): Bus | undefined {
    return this.#bus;
  }

  /** Dials once nats-server is up, retrying until connected or aborted. */
  async connect(nats: NatsState, signal: AbortSignal): Promise<void> {
    const log = this.#o.log;
    while (!signal.aborted) {
      if (!nats.isUp("nats")) {
        await nats.waitForChange(signal);
        continue;
      }
      try {
        const bus = await Bus.connect({
          url: this.#o.url,
          user: "machined",
          pass: this.#o.password,
        }, {
          connectTimeoutMs: 10000,
          onStatus: (event) => {
            if (event === "disconnect") this.#up = false;
            if (event === "reconnect") this.#up = true;
            if (event !== "ping") log.info("bus status", { event });
          },
        });
        this.#up = true;
        this.#bus = bus;
        this.#o.onConnected(bus, signal);
        return;
      } catch (err) {
        log.warn("cannot connect to the bus yet", { error: errorText(err) });
        await sleep(1000, signal);
      }
    }
  }

  /**
   * nats-server's health as this link sees it: a round trip on the
   * connection, a rejection while it is down, or undefined while there is
   * none yet (the check then dials the port).
   */
  health(): Promise<void> | undefined {
    if (!this.#bus) return undefined;
    if (!this.#up) {
      return Promise.reject(new Error("machined's bus connection is down"));
    }
    return this.#bus.flush();
  }

  /** Closes the connection, waiting at most 2 s for it to drain. */
  async close(): Promise<void> {
    const bus = this.#bus;
    this.#bus = undefined;
    if (!bus) return;
    const ac = new AbortController();
    await Promise.race([bus.close(), sleep(2000, ac.signal)]);
    ac.abort();
  }
}
