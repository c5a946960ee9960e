/**
 * Console lines of the init, the probe and machined as PID 1, stamped like the kernel's own
 * (`[    4.123456] bronze-init: ...`, seconds on CLOCK_MONOTONIC), so a boot
 * log reads as one timeline and benchmarks can tell where time went.
 * @module
 */

/** Writes one stamped line to the console. */
export type BootLog = (msg: string) => void;

/** Formats seconds since boot as the kernel does: `[    4.123456]`. */
export function bootStamp(seconds: number): string {
  const micros = Math.max(0, Math.round(seconds * 1e6));
  const whole = Math.floor(micros / 1e6).toString().padStart(5, " ");
  return `[${whole}.${(micros % 1e6).toString().padStart(6, "0")}]`;
}

/** A console logger for `tag` whose clock is `now` (seconds since boot). */
export function bootLog(tag: string, now: () => number): BootLog {
  const enc = new TextEncoder();
  return (msg: string): void => {
    const line = `${bootStamp(now())} ${tag}: ${msg}\n`;
    try {
      Deno.stdout.writeSync(enc.encode(line));
    } catch {
      // no console: nothing else to write to
    }
  };
}
