/**
 * The bus's NATS transport on Deno's own TCP sockets. nats.js's core
 * (`@nats-io/nats-core`, the client that `@nats-io/transport-node` wraps)
 * talks to the server through a small Transport interface; the Node
 * transport implements it with node:net, node:tls and node:dns, and loading
 * those starts Deno's Node compatibility layer: under QEMU TCG ~0.7 s of a
 * daemon's start and, on the host, ~8 MB more peak memory per process.
 * The bus is plain TCP on the node's own address (no TLS: nothing leaves
 * the node), which `Deno.connect` covers; a server that asks for TLS is
 * refused.
 *
 * This is the one file that imports nats-core's private `internal` entry
 * point (the Transport interface and the connection class it plugs into),
 * which may change in any release: `_deno_transport_test.ts` fails when the
 * resolved nats-core is not {@linkcode NATS_CORE_VERSION}. Everything else
 * uses the public `@nats-io/nats-core`.
 * @module
 */
import {
  checkOptions,
  type ConnectionOptions,
  DataBuffer,
  deferred,
  errors,
  extractProtocolMessage,
  INFO,
  type NatsConnection,
  NatsConnectionImpl,
  type Server,
  type ServerInfo,
  setTransportFactory,
  type Transport,
} from "@nats-io/nats-core/internal";

/** The nats-core release this file was written against and checked with. */
export const NATS_CORE_VERSION = "3.4.0";

/** Bytes read from the socket at a time. */
const READ_CHUNK = 64 * 1024;
/** The INFO line is small; a server sending more before it is not NATS. */
const MAX_INFO_BYTES = 64 * 1024;

/** One connection to a nats-server over plain TCP. */
export class DenoTcpTransport implements Transport {
  /** Client language reported in CONNECT. */
  readonly lang = "nats.js";
  /** Client version reported in CONNECT. */
  readonly version = `${NATS_CORE_VERSION}-bronze-deno-tcp`;
  /** Why the connection closed, if it closed with an error. */
  closeError?: Error;
  #conn?: Deno.TcpConn;
  #connected = false;
  #done = false;
  #dialing = new AbortController();
  #early: Uint8Array[] = [];
  #writes: Promise<void> = Promise.resolve();
  #closed = deferred<void | Error>();

  /** Whether the transport is finished. */
  get isClosed(): boolean {
    return this.#done;
  }

  /** Dials the server and reads its INFO (which the parser then reads too). */
  async connect(server: Server, options: ConnectionOptions): Promise<void> {
    let conn: Deno.TcpConn;
    try {
      conn = await Deno.connect({
        hostname: server.hostname,
        port: server.port,
        signal: this.#dialing.signal,
      });
    } catch (cause) {
      throw new errors.ConnectionError(
        cause instanceof Deno.errors.ConnectionRefused
          ? "connection refused"
          : `cannot connect to ${server.hostname}:${server.port}`,
        { cause },
      );
    }
    if (this.#done) {
      conn.close();
      throw new errors.ConnectionError("transport closed while connecting");
    }
    this.#conn = conn;
    try {
      conn.setNoDelay(true);
      const info = await this.#readInfo(conn);
      checkOptions(info, options);
      if (info.tls_required === true) {
        throw new errors.ConnectionError(
          "the bus server requires TLS; the node-local bus is plain TCP",
        );
      }
      if (this.#done) {
        throw new errors.ConnectionError("transport closed while connecting");
      }
    } catch (err) {
      this.#conn = undefined;
      try {
        conn.close();
      } catch {
        // already closed
      }
      throw err;
    }
    this.#connected = true;
  }

  async #readInfo(conn: Deno.TcpConn): Promise<ServerInfo> {
    let seen = 0;
    const buf = new Uint8Array(READ_CHUNK);
    while (seen < MAX_INFO_BYTES) {
      const n = await conn.read(buf);
      if (n === null) {
        throw new errors.ConnectionError("server closed before its INFO");
      }
      this.#early.push(buf.slice(0, n));
      seen += n;
      const all = DataBuffer.concat(...this.#early);
      const line = extractProtocolMessage(all);
      if (line === "") continue;
      const m = INFO.exec(line);
      if (!m) throw new Error("unexpected response from server");
      return JSON.parse(m[1]) as ServerInfo;
    }
    throw new errors.ConnectionError(
      `no INFO within the first ${MAX_INFO_BYTES} bytes`,
    );
  }

  /** The bytes the server sends, as they arrive, until the connection ends. */
  async *[Symbol.asyncIterator](): AsyncIterableIterator<Uint8Array> {
    const early = this.#early;
    this.#early = [];
    for (const b of early) yield b;
    const conn = this.#conn;
    if (conn === undefined) return;
    const buf = new Uint8Array(READ_CHUNK);
    while (!this.#done) {
      let n: number | null;
      try {
        n = await conn.read(buf);
      } catch (err) {
        if (!this.#done) this.#finish(asError(err), false);
        return;
      }
      if (n === null) {
        if (!this.#done) this.#finish(undefined, false);
        return;
      }
      yield buf.slice(0, n);
    }
  }

  /** Whether the connection is TLS (never: the bus is plain TCP). */
  isEncrypted(): boolean {
    return false;
  }

  /** Queues a frame; frames go out in order. Write errors surface as reads fail. */
  send(frame: Uint8Array): void {
    const conn = this.#conn;
    if (this.#done || conn === undefined || frame.length === 0) return;
    this.#writes = this.#writes.then(() => writeAll(conn, frame)).catch(
      () => {
        // the reader sees the broken connection and reports it
      },
    );
  }

  /** Flushes queued frames, closes, and reports `err` as the reason. */
  async close(err?: Error): Promise<void> {
    await this.#finish(err, true);
  }

  /** Closes after flushing; the client then reconnects. */
  disconnect(): void {
    this.#finish(undefined, true).catch(() => {});
  }

  /** Resolves (with the error, if any) once the connection has closed. */
  closed(): Promise<void | Error> {
    return this.#closed;
  }

  /** Drops the connection without reporting it (the client replaced it). */
  discard(): void {
    this.#done = true;
    this.#dialing.abort();
    this.#closeConn();
  }

  async #finish(err: Error | undefined, flush: boolean): Promise<void> {
    if (!this.#connected) {
      // Nothing to report: a dial that failed is the client's to handle.
      this.#done = true;
      this.#dialing.abort();
      this.#closeConn();
      return;
    }
    if (this.#done) return;
    this.#done = true;
    this.closeError = err;
    if (flush && err === undefined) await this.#writes;
    this.#closeConn();
    this.#closed.resolve(err);
  }

  #closeConn(): void {
    const conn = this.#conn;
    this.#conn = undefined;
    try {
      conn?.close();
    } catch {
      // already closed
    }
  }
}

async function writeAll(conn: Deno.TcpConn, frame: Uint8Array): Promise<void> {
  let done = 0;
  while (done < frame.length) done += await conn.write(frame.subarray(done));
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** Connects a NATS client over {@linkcode DenoTcpTransport}. */
export function connectTcp(
  options: ConnectionOptions,
): Promise<NatsConnection> {
  setTransportFactory({ factory: () => new DenoTcpTransport() });
  return NatsConnectionImpl.connect(options);
}
