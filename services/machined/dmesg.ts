import { ApiError } from "../../lib/api_error/mod.ts";
import { EPIPE, Libc, SyscallError } from "../../lib/ffi/mod.ts";
import { sleep } from "./runner/notifier.ts";

/** One kernel log record from /dev/kmsg. */
export interface KmsgRecord {
  /** Syslog priority (facility * 8 + level). */
  priority: number;
  /** Kernel sequence number. */
  seq: number;
  /** Microseconds since boot. */
  usec: number;
  /** The message (continuation lines joined with newlines). */
  message: string;
}

/** Parses one /dev/kmsg record: "prio,seq,usec,flags;message\n KEY=v". */
export function parseKmsgRecord(text: string): KmsgRecord | undefined {
  const semi = text.indexOf(";");
  if (semi < 0) return undefined;
  const [prio, seq, usec] = text.slice(0, semi).split(",").map(Number);
  if (![prio, seq, usec].every(Number.isFinite)) return undefined;
  const lines = text.slice(semi + 1).replace(/\n$/, "").split("\n");
  // Lines starting with a space are key=value dictionary entries.
  const message = lines.filter((l, i) => i === 0 || !l.startsWith(" "))
    .join("\n");
  return { priority: prio, seq, usec, message };
}

const LEVELS = [
  "emerg",
  "alert",
  "crit",
  "err",
  "warning",
  "notice",
  "info",
  "debug",
];

/** Formats a record like `dmesg`: "[   12.345678] kern: info: message". */
export function formatKmsgRecord(r: KmsgRecord): string {
  const secs = (r.usec / 1e6).toFixed(6).padStart(12, " ");
  const facility = r.priority >> 3 === 0 ? "kern" : `fac${r.priority >> 3}`;
  return `[${secs}] ${facility}: ${LEVELS[r.priority & 7]}: ${r.message}\n`;
}

/** Options for {@linkcode readKmsg}. */
export interface ReadKmsgOptions {
  /** Keep reading new records until aborted. */
  follow: boolean;
  /** Only the last N records first (<= 0: all). */
  tail: number;
  /** Stops following. */
  signal: AbortSignal;
  /** The device (default /dev/kmsg). */
  path?: string;
  /** Poll interval while following (ms, default 250). */
  pollMs?: number;
}

/**
 * Reads the kernel log from /dev/kmsg without blocking a thread: the device
 * is opened O_NONBLOCK and polled while following. FailedPrecondition when
 * it cannot be read.
 */
export async function* readKmsg(
  options: ReadKmsgOptions,
): AsyncGenerator<KmsgRecord, void, undefined> {
  const path = options.path ?? "/dev/kmsg";
  // libc, not node:fs: machined loads nothing of Deno's Node layer.
  using libc = Libc.open();
  let fd: number;
  try {
    fd = libc.openReadOnly(path, { nonBlocking: true });
  } catch (err) {
    throw new ApiError(
      "FailedPrecondition",
      `cannot read the kernel log ${JSON.stringify(path)}: ${
        err instanceof Error ? err.message : String(err)
      }`,
    );
  }
  // One record per read(2); records are at most ~1 KiB, 16 KiB is ample.
  const buf = new Uint8Array(16 * 1024);
  const decoder = new TextDecoder();
  const read = (): KmsgRecord | "again" | "skip" => {
    try {
      const n = libc.readSome(fd, buf);
      if (n === "again" || n === 0) return "again";
      return parseKmsgRecord(decoder.decode(buf.subarray(0, n))) ?? "skip";
    } catch (err) {
      // Overwritten while we read: the next read gets the oldest kept one.
      if (err instanceof SyscallError && err.errno === EPIPE) return "skip";
      throw err;
    }
  };
  try {
    const past: KmsgRecord[] = [];
    for (let i = 0; i < 1_000_000; i++) {
      const r = read();
      if (r === "again") break;
      if (r === "skip") continue;
      past.push(r);
      if (options.tail > 0 && past.length > options.tail) past.shift();
    }
    for (const r of past) yield r;
    while (options.follow && !options.signal.aborted) {
      const r = read();
      if (r === "skip") continue;
      if (r === "again") {
        if (await sleep(options.pollMs ?? 250, options.signal)) break;
        continue;
      }
      yield r;
    }
  } finally {
    libc.close(fd);
  }
}
