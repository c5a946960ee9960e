/**
 * apid's command-line flags, validated into {@linkcode ApidOptions}.
 * @module
 */
import type { ApidOptions } from "./apid.ts";

/** The raw flag values parseFlags produced. */
export interface ApidFlagValues {
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

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Validates apid's flags; throws an Error naming the bad flag and value. */
export function parseApidFlags(values: ApidFlagValues): ApidOptions {
  const address = required(values.address, "--address");
  const v4 = IPV4.exec(address);
  const isV6 = address.includes(":") && /^[0-9a-fA-F:.]+$/.test(address);
  if (!(v4 && v4.slice(1).every((o) => Number(o) <= 255)) && !isV6) {
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
