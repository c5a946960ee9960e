/**
 * An in-memory {@linkcode StreamTransport} for the stream halves' unit tests:
 * it records what a half publishes and lets the test play the other end.
 * @module
 */
import type { BusHeaders } from "./bus.ts";
import {
  EMPTY,
  KIND,
  type StreamMessage,
  type StreamTransport,
} from "./_stream_wire.ts";

/** One message a half published. */
export interface Published {
  /** Where it went. */
  subject: string;
  /** Its payload. */
  data: Uint8Array;
  /** Its headers. */
  headers: BusHeaders;
  /** Its reply subject, if any. */
  reply?: string;
}

/** Records publishes, delivers the test's messages to subscribers. */
export class FakeStreamTransport implements StreamTransport {
  /** Everything published, in order. */
  readonly published: Published[] = [];
  #subs = new Map<string, (m: StreamMessage) => void>();
  #closed = false;

  /** Publishes fail from now on, as on a closed connection. */
  close(): void {
    this.#closed = true;
  }

  /** Records one message. */
  publish(
    subject: string,
    data: Uint8Array,
    options: { headers: BusHeaders; reply?: string },
  ): void {
    if (this.#closed) throw new Error("connection closed");
    const p: Published = { subject, data, headers: { ...options.headers } };
    if (options.reply !== undefined) p.reply = options.reply;
    this.published.push(p);
  }

  /** Registers the one subscriber of `subject`. */
  subscribe(
    subject: string,
    onMessage: (message: StreamMessage) => void,
  ): () => void {
    if (this.#subs.has(subject)) {
      throw new Error(`"${subject}" already has a subscriber`);
    }
    this.#subs.set(subject, onMessage);
    return () => this.#subs.delete(subject);
  }

  /** Whether something listens on `subject`. */
  isSubscribed(subject: string): boolean {
    return this.#subs.has(subject);
  }

  /** Delivers a message to the subscriber of `subject` (none: dropped). */
  deliver(
    subject: string,
    headers: BusHeaders,
    options: { data?: Uint8Array; status?: number } = {},
  ): void {
    this.#subs.get(subject)?.({
      data: options.data ?? EMPTY,
      headers,
      status: options.status ?? 0,
    });
  }

  /** The kinds of what went to `subject`, in order. */
  kinds(subject: string): string[] {
    return this.published.filter((p) => p.subject === subject).map((p) =>
      p.headers[KIND] ?? "?"
    );
  }
}
