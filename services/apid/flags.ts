/**
 * apid's command-line flags, validated into {@linkcode ApidOptions}.
 * @module
 */
import { type FlagSpec, parseFlags } from "../../lib/daemon/mod.ts";
import { ipFamily } from "../../lib/netaddr/mod.ts";
import type { ApidOptions } from "./apid.ts";

/** apid's flags, as parseFlags takes them. */
const APID_FLAGS = {
  address: { type: "string" },
  hostname: { type: "string" },
  certs: { type: "string" },
  "control-plane": { type: "boolean", default: false },
  port: { type: "string" },
  "leg-timeout-ms": { type: "string" },
  "handshake-timeout-ms": { type: "string" },
  "idle-timeout-ms": { type: "string" },
} as const;

/** The flags apid's maintenance form takes: the node and the port. */
const MAINTENANCE_FLAGS: ReadonlySet<string> = new Set([
  "address",
  "hostname",
  "certs",
  "port",
]);

/** Options for {@linkcode parseApidArgs}. */
export interface ParseApidArgsOptions {
  /** The maintenance form's command line: any other flag is refused. */
  maintenance?: boolean;
}

/**
 * Parses and validates apid's command line; throws an Error naming the bad
 * flag and value.
 */
export function parseApidArgs(
  args: readonly string[],
  options: ParseApidArgsOptions = {},
): ApidOptions {
  const { values } = parseFlags(args, APID_FLAGS);
  if (options.maintenance) {
    for (const [name, value] of Object.entries(values)) {
      const spec: FlagSpec = APID_FLAGS[name as keyof typeof APID_FLAGS];
      const unset = value === undefined || value === spec.default;
      if (!unset && !MAINTENANCE_FLAGS.has(name)) {
        throw new Error(`apid: --${name} is not taken in maintenance mode`);
      }
    }
  }
  return parseApidFlags(values);
}

/** The raw flag values parseFlags produced. */
interface ApidFlagValues {
  /** --address */
  address?: string;
  /** --hostname */
  hostname?: string;
  /** --certs */
  certs?: string;
  /** --control-plane */
  "control-plane"?: boolean;
  /** --port */
  port?: string;
  /** --leg-timeout-ms */
  "leg-timeout-ms"?: string;
  /** --handshake-timeout-ms */
  "handshake-timeout-ms"?: string;
  /** --idle-timeout-ms */
  "idle-timeout-ms"?: string;
}

/** Validates apid's flags; throws an Error naming the bad flag and value. */
function parseApidFlags(values: ApidFlagValues): ApidOptions {
  const address = required(values.address, "--address");
  if (ipFamily(address) === undefined) {
    throw new Error(
      `apid: --address ${JSON.stringify(address)} is not an IP address`,
    );
  }
  const hostname = required(values.hostname, "--hostname");
  if (!/^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$/.test(hostname)) {
    throw new Error(
      `apid: --hostname ${JSON.stringify(hostname)} is not a hostname`,
    );
  }
  return {
    address,
    hostname,
    certsDir: required(values.certs, "--certs"),
    controlPlane: values["control-plane"] ?? false,
    port: values.port === undefined
      ? undefined
      : integer(values.port, "--port", 1, 65535),
    legTimeoutMs: values["leg-timeout-ms"] === undefined
      ? undefined
      : integer(values["leg-timeout-ms"], "--leg-timeout-ms", 10, 600_000),
    handshakeTimeoutMs: optionalInteger(
      values["handshake-timeout-ms"],
      "--handshake-timeout-ms",
    ),
    idleTimeoutMs: optionalInteger(
      values["idle-timeout-ms"],
      "--idle-timeout-ms",
    ),
  };
}

function required(value: string | undefined, flag: string): string {
  if (!value) throw new Error(`apid: ${flag} is required`);
  return value;
}

function optionalInteger(value: string | undefined, flag: string) {
  return value === undefined ? undefined : integer(value, flag, 10, 3_600_000);
}

function integer(value: string, flag: string, min: number, max: number) {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) {
    throw new Error(
      `apid: ${flag} ${
        JSON.stringify(value)
      } is not a whole number in ${min}..${max}`,
    );
  }
  return n;
}
