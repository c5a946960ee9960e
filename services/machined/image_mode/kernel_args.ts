/**
 * The kernel command line as machined reads it in image mode: the
 * `bronze.config=` config source and the kernel's own `ip=` static address
 * (which the kernel cannot apply itself here: the NIC driver is a module).
 * @module
 */
import { isIpv4 } from "../../../lib/netaddr/mod.ts";
import { base64ToBytes } from "../../../lib/pem/mod.ts";

/** Where `bronze.config=` says the machine config comes from. */
export type CmdlineConfig =
  | { kind: "none" }
  | { kind: "fw_cfg" }
  | { kind: "inline"; data: Uint8Array };

/** A static IPv4 setup from `ip=<client>::<gw>:<netmask>:<host>:<dev>:...`. */
export interface KernelIp {
  /** Address with prefix length, e.g. "10.0.2.15/24". */
  cidr: string;
  /** Default gateway, if given. */
  gateway?: string;
  /** Hostname, if given. */
  hostname?: string;
  /** Link name (default eth0). */
  device: string;
}

/** The kernel's own arguments: the words before ` -- ` (the init's come after). */
export function kernelWords(cmdline: string): string[] {
  const words = cmdline.trim().split(/\s+/).filter((w) => w !== "");
  const end = words.indexOf("--");
  return end < 0 ? words : words.slice(0, end);
}

/** The value of the last `key=` argument, as the kernel takes the last one. */
export function kernelArg(cmdline: string, key: string): string | undefined {
  let value: string | undefined;
  for (const w of kernelWords(cmdline)) {
    if (w.startsWith(`${key}=`)) value = w.slice(key.length + 1);
  }
  return value;
}

/**
 * `bronze.config=`: `fw_cfg` (QEMU's fw_cfg entry opt/bronze/config),
 * `none`, or the YAML itself in base64 (standard or URL alphabet). Throws
 * naming the value when it is none of these.
 */
export function parseConfigArg(value: string): CmdlineConfig {
  if (value === "none") return { kind: "none" };
  if (value === "fw_cfg" || value === "fwcfg") return { kind: "fw_cfg" };
  const b64 = value.replaceAll("-", "+").replaceAll("_", "/");
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || value.length < 8) {
    throw new Error(
      `bronze.config=${
        JSON.stringify(value.slice(0, 40))
      }: expected fw_cfg, none, or a base64 machine config`,
    );
  }
  const padded = b64 + "=".repeat((4 - (b64.length % 4)) % 4);
  try {
    return { kind: "inline", data: base64ToBytes(padded) };
  } catch (cause) {
    throw new Error("bronze.config=: the value is not valid base64", {
      cause,
    });
  }
}

function prefixOfMask(mask: string): number | undefined {
  if (!isIpv4(mask)) return undefined;
  const n = mask.split(".").reduce((a, p) => a * 256 + Number(p), 0);
  const bits = n.toString(2).padStart(32, "0");
  return /^1*0*$/.test(bits)
    ? bits.indexOf("0") < 0 ? 32 : bits.indexOf("0")
    : undefined;
}

/**
 * Parses the kernel's `ip=` argument in its static form
 * (`client::gw:netmask:hostname:device:off`); dhcp and other automatic forms
 * give undefined (there is no DHCP client). Throws on a malformed static one.
 */
export function parseIpArg(value: string): KernelIp | undefined {
  const f = value.split(":");
  if (f.length < 4 || !isIpv4(f[0])) return undefined;
  const [client, , gw, mask, host, dev] = f;
  const prefix = mask === "" ? 24 : prefixOfMask(mask);
  if (prefix === undefined) {
    throw new Error(`ip=${value}: netmask ${JSON.stringify(mask)} is invalid`);
  }
  if (gw && !isIpv4(gw)) {
    throw new Error(`ip=${value}: gateway ${JSON.stringify(gw)} is invalid`);
  }
  return {
    cidr: `${client}/${prefix}`,
    gateway: gw || undefined,
    hostname: host || undefined,
    device: dev || "eth0",
  };
}
