/**
 * Console lines of the init, the probe and machined as PID 1. Each line is
 * one record of the kernel log (/dev/kmsg): the kernel stamps it like its own
 * (`[    4.123456] bronze-init: ...`) and prints it whole, so a kernel line
 * printed at the same moment cannot split it on the serial console, and
 * `osctl dmesg` shows the boot as one timeline. The kernel command line has
 * `printk.devkmsg=on`, or the kernel drops all but 10 records in 5 s.
 * Before /dev is mounted a line goes to stdout (the console), stamped by the
 * caller's clock (seconds on CLOCK_MONOTONIC, as the kernel's).
 * @module
 */

/** Writes one console line; disposing it closes the kernel log device. */
export type BootLog = ((msg: string) => void) & Disposable;

/** Where {@linkcode bootLog} writes; the defaults are the machine's. */
export interface BootLogOptions {
  /** The kernel log device (default /dev/kmsg). */
  kmsg?: string;
  /** The fallback before the device exists (default Deno.stdout). */
  stdout?: { writeSync(p: Uint8Array): number };
}

/** The longest record written, in bytes (the kernel refuses over ~990). */
export const KMSG_RECORD_MAX = 900;

/** Syslog priority of every record: facility user (1), level info (6). */
const PRIORITY = "<14>";

/** Formats seconds since boot as the kernel does: `[    4.123456]`. */
export function bootStamp(seconds: number): string {
  const micros = Math.max(0, Math.round(seconds * 1e6));
  const whole = Math.floor(micros / 1e6).toString().padStart(5, " ");
  return `[${whole}.${(micros % 1e6).toString().padStart(6, "0")}]`;
}

/**
 * `bytes` in pieces of at most `max` bytes, never splitting a UTF-8
 * character (a piece ends before a continuation byte).
 */
export function splitUtf8(bytes: Uint8Array, max: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let start = 0;
  while (bytes.length - start > max) {
    let end = start + max;
    while (end > start + 1 && (bytes[end] & 0xc0) === 0x80) end--;
    out.push(bytes.subarray(start, end));
    start = end;
  }
  out.push(bytes.subarray(start));
  return out;
}

function writeAll(
  w: { writeSync(p: Uint8Array): number },
  bytes: Uint8Array,
): void {
  let off = 0;
  while (off < bytes.length) off += w.writeSync(bytes.subarray(off));
}

function openKmsg(path: string): Deno.FsFile | undefined {
  try {
    return Deno.openSync(path, { write: true });
  } catch {
    return undefined;
  }
}

/**
 * A console logger for `tag`: kernel log records once the device opens,
 * stdout lines stamped with `now()` (seconds since boot) until then. A
 * message with several lines gives one record per line; a long line is cut
 * into records of at most {@linkcode KMSG_RECORD_MAX} bytes.
 */
export function bootLog(
  tag: string,
  now: () => number,
  options: BootLogOptions = {},
): BootLog {
  const enc = new TextEncoder();
  const path = options.kmsg ?? "/dev/kmsg";
  const stdout = options.stdout ?? Deno.stdout;
  const head = enc.encode(`${PRIORITY}${tag}: `);
  let kmsg: Deno.FsFile | undefined;
  const toKmsg = (line: string): boolean => {
    kmsg ??= openKmsg(path);
    if (kmsg === undefined) return false;
    try {
      for (const piece of splitUtf8(enc.encode(line), KMSG_RECORD_MAX)) {
        const rec = new Uint8Array(head.length + piece.length + 1);
        rec.set(head);
        rec.set(piece, head.length);
        rec[rec.length - 1] = 0x0a;
        // One write is one record: the kernel takes it whole or not at all.
        kmsg.writeSync(rec);
      }
      return true;
    } catch {
      kmsg.close();
      kmsg = undefined;
      return false;
    }
  };
  const log = (msg: string): void => {
    for (const line of msg.split("\n")) {
      if (toKmsg(line)) continue;
      try {
        writeAll(stdout, enc.encode(`${bootStamp(now())} ${tag}: ${line}\n`));
      } catch {
        // no console: nothing else to write to
      }
    }
  };
  return Object.assign(log, {
    [Symbol.dispose](): void {
      kmsg?.close();
      kmsg = undefined;
    },
  });
}
