/**
 * Cached raw channels to the apids of other nodes, one per target. The pool
 * is rebuilt when the client certificate changes (old channels are closed
 * after a grace period so calls in flight finish).
 * @module
 */
import { RawChannel } from "./raw_client.ts";
import type { ClientTls } from "./tls.ts";

/** Options of a {@linkcode ChannelPool}. */
export interface ChannelPoolOptions {
  /** The port every target listens on. */
  port: number;
  /** Client TLS to dial `target` with (see {@linkcode clientTls}). */
  tls(target: string): ClientTls;
  /** Largest message in bytes (default 16 MiB). */
  maxMessageBytes?: number;
  /** How long replaced channels stay open for calls in flight (default 30 s). */
  retireGraceMs?: number;
}

/** Channels to other nodes, dialled on first use. */
export class ChannelPool {
  #options: ChannelPoolOptions;
  #channels = new Map<string, RawChannel>();
  #retiring = new Map<ReturnType<typeof setTimeout>, RawChannel[]>();

  /** Makes an empty pool. */
  constructor(options: ChannelPoolOptions) {
    this.#options = options;
  }

  /** The channel to `target` (a hostname or an IP address, no port). */
  channel(target: string): RawChannel {
    let ch = this.#channels.get(target);
    if (!ch) {
      const host = target.includes(":") ? `[${target}]` : target;
      const max = this.#options.maxMessageBytes ?? 16 * 1024 * 1024;
      const tls = this.#options.tls(target);
      ch = new RawChannel(
        `${host}:${this.#options.port}`,
        tls.credentials,
        {
          channelOptions: {
            ...tls.channelOptions,
            "grpc.max_receive_message_length": max,
            "grpc.max_send_message_length": max,
            "grpc.initial_reconnect_backoff_ms": 250,
            "grpc.max_reconnect_backoff_ms": 2000,
            "grpc.keepalive_time_ms": 30_000,
            "grpc.keepalive_timeout_ms": 10_000,
            "grpc.client_idle_timeout_ms": 300_000,
          },
        },
      );
      this.#channels.set(target, ch);
    }
    return ch;
  }

  /** Closes and forgets the channel to `target`. */
  evict(target: string): void {
    const ch = this.#channels.get(target);
    if (!ch) return;
    this.#channels.delete(target);
    ch.close();
  }

  /** Forgets every channel (new credentials); old ones close after a grace. */
  renew(): void {
    const old = [...this.#channels.values()];
    this.#channels.clear();
    if (old.length === 0) return;
    const timer = setTimeout(() => {
      this.#retiring.delete(timer);
      for (const ch of old) ch.close();
    }, this.#options.retireGraceMs ?? 30_000);
    this.#retiring.set(timer, old);
  }

  /** Closes every channel now. */
  close(): void {
    for (const [timer, old] of this.#retiring) {
      clearTimeout(timer);
      for (const ch of old) ch.close();
    }
    this.#retiring.clear();
    for (const ch of this.#channels.values()) ch.close();
    this.#channels.clear();
  }
}
