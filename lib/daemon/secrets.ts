import type { BusCredentials } from "../bus/mod.ts";
import { type DaemonName, DAEMONS } from "../constants/mod.ts";

/** What machined hands a daemon privately on its stdin (never argv or env). */
export interface DaemonSecrets {
  /** How to reach the bus as this daemon. */
  bus: BusCredentials;
  /** Daemon-specific secrets (trustd: CA and token), validated by the daemon. */
  extra: Record<string, unknown>;
}

const MAX_SECRETS_BYTES = 64 * 1024;

/** Parses and validates the secrets JSON a daemon receives on stdin. */
export function parseSecrets(
  text: string,
  expected: DaemonName,
): DaemonSecrets {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new Error("Cannot parse daemon secrets on stdin: not JSON", {
      cause,
    });
  }
  if (typeof raw !== "object" || raw === null) {
    throw new Error("Cannot parse daemon secrets on stdin: not an object");
  }
  const { bus, ...extra } = raw as Record<string, unknown>;
  if (typeof bus !== "object" || bus === null) {
    throw new Error('Cannot parse daemon secrets on stdin: "bus" is missing');
  }
  const { url, user, pass } = bus as Record<string, unknown>;
  if (typeof url !== "string" || !/^nats:\/\/[^\s/]+:\d+$/.test(url)) {
    throw new Error(
      `Cannot parse daemon secrets on stdin: bad bus url ${
        JSON.stringify(url)
      }`,
    );
  }
  if (
    typeof user !== "string" || !DAEMONS.includes(user as DaemonName) ||
    user !== expected
  ) {
    throw new Error(
      `Cannot parse daemon secrets on stdin: bus user ${
        JSON.stringify(user)
      } is not "${expected}"`,
    );
  }
  if (typeof pass !== "string" || pass.length < 16) {
    throw new Error(
      "Cannot parse daemon secrets on stdin: bus password missing or short",
    );
  }
  return { bus: { url, user: user as DaemonName, pass }, extra };
}

/** Reads stdin to its end (bounded) and parses the daemon secrets. */
export async function readSecrets(
  expected: DaemonName,
): Promise<DaemonSecrets> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of Deno.stdin.readable) {
    size += chunk.length;
    if (size > MAX_SECRETS_BYTES) {
      throw new Error("Cannot read daemon secrets: stdin too large");
    }
    chunks.push(chunk);
  }
  const all = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) {
    all.set(c, off);
    off += c.length;
  }
  return parseSecrets(new TextDecoder().decode(all), expected);
}
