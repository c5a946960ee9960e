/**
 * Kernel uevents ("ACTION@DEVPATH\0KEY=VALUE\0..."): parsing with every
 * length, key and required field checked.
 * @module
 */

/** The actions the kernel sends (kobject_action). */
export const UEVENT_ACTIONS = [
  "add",
  "remove",
  "change",
  "move",
  "online",
  "offline",
  "bind",
  "unbind",
] as const;

/** One kernel uevent action. */
export type UeventAction = typeof UEVENT_ACTIONS[number];

/** The largest uevent accepted, in bytes (the kernel's own limit is 2 KiB of env). */
export const UEVENT_MAX_BYTES = 8192;
const MAX_FIELDS = 128;
const MAX_VALUE = 4096;
const KEY = /^[A-Z0-9_]{1,64}$/;
const REQUIRED = ["ACTION", "DEVPATH", "SUBSYSTEM", "SEQNUM"] as const;

/** A parsed, validated uevent. */
export interface Uevent {
  /** ACTION. */
  action: UeventAction;
  /** DEVPATH, under /sys. */
  devpath: string;
  /** SUBSYSTEM. */
  subsystem: string;
  /** SEQNUM. */
  seqnum: number;
  /** Every KEY=VALUE pair, including the above. */
  env: Record<string, string>;
}

function bad(why: string): never {
  throw new Error(`Cannot parse uevent: ${why}`);
}

function quote(s: string): string {
  return JSON.stringify(s.length > 80 ? s.slice(0, 80) + "..." : s);
}

/**
 * Parses one kernel uevent datagram. Throws naming what is wrong: too long,
 * a libudev (user-space) message, a malformed field, a missing required key,
 * an unknown action, or a header that disagrees with ACTION/DEVPATH.
 */
export function parseUevent(data: Uint8Array): Uevent {
  if (data.length === 0) bad("empty datagram");
  if (data.length > UEVENT_MAX_BYTES) {
    bad(`${data.length} bytes, more than ${UEVENT_MAX_BYTES}`);
  }
  const text = new TextDecoder().decode(data);
  if (text.startsWith("libudev\0")) {
    bad("a libudev message, not a kernel uevent");
  }
  const fields = text.split("\0");
  if (fields.length > MAX_FIELDS + 2) {
    bad(`more than ${MAX_FIELDS} fields`);
  }
  const header = fields[0];
  const at = header.indexOf("@");
  if (at <= 0) bad(`header ${quote(header)} is not ACTION@DEVPATH`);
  const env: Record<string, string> = {};
  for (const field of fields.slice(1)) {
    if (field === "") continue;
    const eq = field.indexOf("=");
    if (eq <= 0) bad(`field ${quote(field)} is not KEY=VALUE`);
    const key = field.slice(0, eq);
    const value = field.slice(eq + 1);
    if (!KEY.test(key)) bad(`key ${quote(key)} is not [A-Z0-9_]{1,64}`);
    if (value.length > MAX_VALUE) {
      bad(`value of ${key} is longer than ${MAX_VALUE}`);
    }
    if (hasControlChars(value)) {
      bad(`value of ${key} has control characters`);
    }
    if (Object.hasOwn(env, key)) bad(`key ${key} appears twice`);
    env[key] = value;
  }
  for (const k of REQUIRED) {
    if (!env[k]) bad(`required key ${k} is missing`);
  }
  const action = env.ACTION;
  if (!(UEVENT_ACTIONS as readonly string[]).includes(action)) {
    bad(`unknown action ${quote(action)}`);
  }
  if (header.slice(0, at) !== action || header.slice(at + 1) !== env.DEVPATH) {
    bad(
      `header ${quote(header)} disagrees with ACTION=${quote(action)} DEVPATH=${
        quote(env.DEVPATH)
      }`,
    );
  }
  const devpath = env.DEVPATH;
  if (!devpath.startsWith("/") || devpath.split("/").includes("..")) {
    bad(`DEVPATH ${quote(devpath)} is not an absolute path under /sys`);
  }
  if (!/^[0-9]{1,15}$/.test(env.SEQNUM)) {
    bad(`SEQNUM ${quote(env.SEQNUM)} is not a number`);
  }
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(env.SUBSYSTEM)) {
    bad(`SUBSYSTEM ${quote(env.SUBSYSTEM)} is not a subsystem name`);
  }
  return {
    action: action as UeventAction,
    devpath,
    subsystem: env.SUBSYSTEM,
    seqnum: Number(env.SEQNUM),
    env,
  };
}

/** Whether `s` holds an ASCII control character (0x00-0x1f, 0x7f). */
function hasControlChars(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}
