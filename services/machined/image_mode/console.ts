/**
 * machined's console in image mode: boot progress lines stamped like the
 * kernel's (`[   9.123456] machined: ...`), and a log sink that shows the
 * lines an operator watching the console needs (service state changes,
 * sequence steps, warnings and errors) in short form. Every line also stays
 * in machined's log (`osctl logs machined`).
 * @module
 */
import { bootLog, type LogSink } from "../../../lib/log/mod.ts";

/** Writes console lines. */
export interface Console {
  /** One progress line. */
  say(message: string): void;
}

/** The serial console (machined's stdout), stamped with `uptime()`. */
export function serialConsole(uptime: () => number): Console {
  const log = bootLog("machined", uptime);
  return { say: log };
}

const SKIP_FIELDS = new Set(["ts", "level", "msg", "component"]);

/**
 * The console form of one of machined's JSON log lines, or undefined for
 * lines the console does not show (debug/info chatter).
 */
export function consoleLine(json: string): string | undefined {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(json);
  } catch {
    return json;
  }
  const msg = String(rec.msg ?? "");
  if (msg === "service") {
    const note = rec.message ? ` (${rec.message})` : "";
    return `service ${rec.service}: ${rec.state}${note}`;
  }
  if (msg === "sequence") {
    return `${rec.sequence}: ${rec.state}: ${rec.message}`;
  }
  if (rec.level !== "warn" && rec.level !== "error") return undefined;
  const fields = Object.entries(rec)
    .filter(([k]) => !SKIP_FIELDS.has(k))
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" ");
  return `${rec.level}: ${msg}${fields ? ` ${fields}` : ""}`;
}

/** A log sink that shows {@linkcode consoleLine}s on `console`. */
export function consoleSink(console: Console): LogSink {
  return {
    write(line: string): void {
      const text = consoleLine(line);
      if (text !== undefined) console.say(text);
    },
  };
}
