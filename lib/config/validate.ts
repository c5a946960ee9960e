import type { ConfigProblem } from "./errors.ts";
import type {
  CertificateAndKey,
  ClusterSection,
  InstallConfig,
  LoggingConfig,
  MachineConfig,
  MachineSection,
  MachineType,
  NetworkConfig,
  NetworkInterfaceConfig,
  RouteConfig,
} from "./types.ts";
import {
  type AddressFamily,
  ipFamily,
  isDnsName,
  parseCidr,
} from "../netaddr/mod.ts";
import { cidrMessage, parseEndpoint, quote } from "./net_syntax.ts";

/** The machine token format (as Talos's `genToken(6, 16)`). */
export const TOKEN_PATTERN: RegExp = /^[a-z0-9]{6}\.[a-z0-9]{16}$/;

/** At most this many problems are reported; the rest are counted. */
export const MAX_PROBLEMS = 100;

const MAX_LIST = 256;

/** Collects problems with their paths. */
class Problems {
  readonly list: ConfigProblem[] = [];
  #dropped = 0;

  add(path: string, message: string): void {
    if (this.list.length < MAX_PROBLEMS) this.list.push({ path, message });
    else this.#dropped++;
  }

  finish(): ConfigProblem[] {
    if (this.#dropped > 0) {
      this.list.push({
        path: "",
        message: `${this.#dropped} more problem(s) not shown`,
      });
    }
    return this.list;
  }
}

type Obj = Record<string, unknown>;

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "sequence";
  if (v instanceof Uint8Array) return "binary";
  if (typeof v === "object") return "mapping";
  if (typeof v === "number" && !Number.isInteger(v)) return "number";
  if (typeof v === "number") return "integer";
  return typeof v;
}

function isPlainObject(v: unknown): v is Obj {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Checks a mapping: its type and that it has no keys outside `known`. */
function mapping(
  v: unknown,
  path: string,
  known: readonly string[],
  p: Problems,
): Obj | undefined {
  if (!isPlainObject(v)) {
    p.add(path || ".", `expected a mapping, got ${typeName(v)}`);
    return undefined;
  }
  for (const key of Object.keys(v)) {
    if (!known.includes(key)) {
      p.add(`${path}.${key}`, `unknown key ${quote(key)}`);
    }
  }
  return v;
}

function string(v: unknown, path: string, p: Problems): string | undefined {
  if (typeof v !== "string") {
    p.add(path, `expected a string, got ${typeName(v)}`);
    return undefined;
  }
  return v;
}

function integer(
  v: unknown,
  path: string,
  range: [number, number],
  p: Problems,
): number | undefined {
  if (typeof v !== "number" || !Number.isInteger(v)) {
    p.add(path, `expected an integer, got ${typeName(v)}`);
    return undefined;
  }
  if (v < range[0] || v > range[1]) {
    p.add(path, `${v} is out of range [${range[0]}, ${range[1]}]`);
    return undefined;
  }
  return v;
}

function sequence(
  v: unknown,
  path: string,
  p: Problems,
): unknown[] | undefined {
  if (!Array.isArray(v)) {
    p.add(path, `expected a sequence, got ${typeName(v)}`);
    return undefined;
  }
  if (v.length > MAX_LIST) {
    p.add(path, `too many entries: ${v.length} (at most ${MAX_LIST})`);
    return undefined;
  }
  return v;
}

function stringList(
  v: unknown,
  path: string,
  p: Problems,
  check: (s: string, path: string) => boolean,
): string[] | undefined {
  const items = sequence(v, path, p);
  if (!items) return undefined;
  let ok = true;
  items.forEach((item, i) => {
    const s = string(item, `${path}[${i}]`, p);
    if (s === undefined || !check(s, `${path}[${i}]`)) ok = false;
  });
  return ok ? (items as string[]) : undefined;
}

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;
const NOT_B64 = /[^A-Za-z0-9+/=\r\n]/;

/**
 * Decodes base64 that may be wrapped in lines (CR and LF only, as Go's
 * decoder allows): any other character, a TAB or U+FEFF included, is refused
 * with its offset.
 */
function decodeBase64Pem(s: string): { pem: string } | { why: string } {
  const bad = NOT_B64.exec(s);
  if (bad) {
    const code = bad[0].codePointAt(0)!.toString(16).toUpperCase();
    return {
      why: `character U+${
        code.padStart(4, "0")
      } at offset ${bad.index} is not base64`,
    };
  }
  const compact = s.replace(/[\r\n]+/g, "");
  if (compact.length === 0 || compact.length % 4 !== 0 || !B64.test(compact)) {
    return { why: "" };
  }
  try {
    return { pem: atob(compact) };
  } catch {
    return { why: "" };
  }
}

/** Whether base64 text decodes to PEM matching `re`; else why not. */
function pemProblem(s: string, re: RegExp): string | undefined {
  const d = decodeBase64Pem(s);
  if ("pem" in d) return re.test(d.pem) ? undefined : "";
  return d.why;
}

const CERT_PEM =
  /^\s*-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----\s*$/;
const KEY_PEM =
  /^\s*-----BEGIN ((?:EC |ED25519 )?PRIVATE KEY)-----\r?\n[A-Za-z0-9+/=\r\n]+-----END \1-----\s*$/;

/** What a CA check reports on: its path and the words naming it. */
interface CaWhat {
  /** The mapping's path, e.g. ".machine.ca". */
  path: string;
  /** How problems name it, e.g. "issuing CA". */
  label: string;
}

const OS_CA: CaWhat = { path: ".machine.ca", label: "issuing CA" };
const ETCD_CA: CaWhat = { path: ".cluster.etcd.ca", label: "etcd CA" };

function checkCa(
  v: unknown,
  type: MachineType | undefined,
  p: Problems,
  what: CaWhat = OS_CA,
): CertificateAndKey | undefined {
  const { path, label } = what;
  if (v === undefined || v === null) {
    p.add(path, `${label} is required`);
    return undefined;
  }
  const ca = mapping(v, path, ["crt", "key"], p);
  if (!ca) return undefined;
  let ok = true;
  if (ca.crt === undefined || ca.crt === "") {
    p.add(`${path}.crt`, `${label} certificate is required`);
    ok = false;
  } else {
    const crt = string(ca.crt, `${path}.crt`, p);
    if (crt === undefined) ok = false;
    else {
      const why = pemProblem(crt, CERT_PEM);
      if (why !== undefined) {
        p.add(
          `${path}.crt`,
          `${label} certificate is not a base64-encoded PEM certificate${
            why ? `: ${why}` : ""
          }`,
        );
        ok = false;
      }
    }
  }
  const hasKey = ca.key !== undefined && ca.key !== "";
  if (type === "controlplane" && !hasKey) {
    p.add(`${path}.key`, `${label} key is required for controlplane nodes`);
    ok = false;
  } else if (type === "worker" && hasKey) {
    p.add(path, `${label} key is not allowed on non-controlplane nodes`);
    ok = false;
  } else if (hasKey) {
    const key = string(ca.key, `${path}.key`, p);
    if (key === undefined) ok = false;
    else {
      // Never quote the value: it is a secret (an offset tells nothing).
      const why = pemProblem(key, KEY_PEM);
      if (why !== undefined) {
        p.add(
          `${path}.key`,
          `${label} key is not a base64-encoded PEM private key${
            why ? `: ${why}` : ""
          }`,
        );
        ok = false;
      }
    }
  }
  if (!ok) return undefined;
  return hasKey
    ? { crt: ca.crt as string, key: ca.key as string }
    : { crt: ca.crt as string };
}

/** cluster.etcd: control planes only, and then with its CA's key. */
function checkEtcd(
  v: unknown,
  type: MachineType | undefined,
  p: Problems,
): void {
  const path = ".cluster.etcd";
  if (type === "worker") {
    p.add(path, "etcd is configured on controlplane nodes only");
    return;
  }
  const e = mapping(v, path, ["ca"], p);
  if (e) checkCa(e.ca, type, p, ETCD_CA);
}

function checkHostOrIp(s: string, path: string, p: Problems): boolean {
  if (ipFamily(s) !== undefined || isDnsName(s)) return true;
  p.add(
    path,
    `invalid certificate SAN ${quote(s)}: not an IP address or DNS name`,
  );
  return false;
}

function checkRoute(
  v: unknown,
  path: string,
  p: Problems,
): RouteConfig | undefined {
  const r = mapping(v, path, ["network", "gateway", "metric"], p);
  if (!r) return undefined;
  let ok = true;
  let family: AddressFamily | undefined;
  if (r.network === undefined) {
    p.add(`${path}.network`, "route network is required");
    ok = false;
  } else {
    const net = string(r.network, `${path}.network`, p);
    if (net === undefined) ok = false;
    else {
      try {
        family = parseCidr(net).family;
      } catch (err) {
        p.add(`${path}.network`, cidrMessage(err));
        ok = false;
      }
    }
  }
  if (r.gateway !== undefined) {
    const gw = string(r.gateway, `${path}.gateway`, p);
    if (gw === undefined) ok = false;
    else {
      const gwFamily = ipFamily(gw);
      if (gwFamily === undefined) {
        p.add(
          `${path}.gateway`,
          `invalid gateway ${quote(gw)}: not an IP address`,
        );
        ok = false;
      } else if (family !== undefined && gwFamily !== family) {
        p.add(
          `${path}.gateway`,
          `gateway ${quote(gw)} is not in the address family of network ${
            quote(r.network)
          }`,
        );
        ok = false;
      }
    }
  }
  if (r.metric !== undefined) {
    if (integer(r.metric, `${path}.metric`, [0, 4294967295], p) === undefined) {
      ok = false;
    }
  }
  return ok ? (r as unknown as RouteConfig) : undefined;
}

const IFNAME = /^[A-Za-z0-9_.:@-]{1,15}$/;

function checkInterface(
  v: unknown,
  path: string,
  p: Problems,
): NetworkInterfaceConfig | undefined {
  const i = mapping(v, path, ["name", "addresses", "routes", "mtu", "dhcp"], p);
  if (!i) return undefined;
  let ok = true;
  if (i.name === undefined || i.name === "") {
    p.add(`${path}.name`, "interface name is required");
    ok = false;
  } else {
    const name = string(i.name, `${path}.name`, p);
    if (name === undefined) ok = false;
    else if (!IFNAME.test(name) || name === "." || name === "..") {
      p.add(`${path}.name`, `invalid interface name ${quote(name)}`);
      ok = false;
    }
  }
  if (i.addresses !== undefined) {
    const addrs = stringList(i.addresses, `${path}.addresses`, p, (s, at) => {
      try {
        parseCidr(s);
        return true;
      } catch (err) {
        p.add(at, cidrMessage(err));
        return false;
      }
    });
    if (!addrs) ok = false;
  }
  if (i.routes !== undefined) {
    const routes = sequence(i.routes, `${path}.routes`, p);
    if (!routes) ok = false;
    else {
      routes.forEach((r, n) => {
        if (!checkRoute(r, `${path}.routes[${n}]`, p)) ok = false;
      });
    }
  }
  if (i.mtu !== undefined) {
    if (integer(i.mtu, `${path}.mtu`, [68, 65535], p) === undefined) ok = false;
  }
  if (i.dhcp !== undefined && typeof i.dhcp !== "boolean") {
    p.add(`${path}.dhcp`, `expected a boolean, got ${typeName(i.dhcp)}`);
    ok = false;
  }
  return ok ? (i as unknown as NetworkInterfaceConfig) : undefined;
}

function checkNetwork(v: unknown, p: Problems): NetworkConfig | undefined {
  const path = ".machine.network";
  const n = mapping(v, path, ["hostname", "interfaces", "nameservers"], p);
  if (!n) return undefined;
  let ok = true;
  if (n.hostname !== undefined) {
    const h = string(n.hostname, `${path}.hostname`, p);
    if (h === undefined) ok = false;
    else if (!isDnsName(h)) {
      p.add(`${path}.hostname`, `invalid hostname ${quote(h)}`);
      ok = false;
    }
  }
  if (n.interfaces !== undefined) {
    const list = sequence(n.interfaces, `${path}.interfaces`, p);
    if (!list) ok = false;
    else {
      const seen = new Set<string>();
      list.forEach((item, i) => {
        const at = `${path}.interfaces[${i}]`;
        if (!checkInterface(item, at, p)) ok = false;
        const name = isPlainObject(item) ? item.name : undefined;
        if (typeof name !== "string") return;
        if (seen.has(name)) {
          p.add(`${at}.name`, `duplicate interface ${quote(name)}`);
          ok = false;
        }
        seen.add(name);
      });
    }
  }
  if (n.nameservers !== undefined) {
    const ns = stringList(n.nameservers, `${path}.nameservers`, p, (s, at) => {
      if (ipFamily(s) !== undefined) return true;
      p.add(at, `invalid nameserver ${quote(s)}: not an IP address`);
      return false;
    });
    if (!ns) ok = false;
  }
  return ok ? (n as NetworkConfig) : undefined;
}

/** The log levels machine.logging.level takes. */
export const LOG_LEVELS: readonly string[] = ["debug", "info", "warn", "error"];

function checkLogging(v: unknown, p: Problems): LoggingConfig | undefined {
  const path = ".machine.logging";
  const l = mapping(v, path, ["level"], p);
  if (!l) return undefined;
  if (l.level === undefined) return l as LoggingConfig;
  const level = string(l.level, `${path}.level`, p);
  if (level === undefined) return undefined;
  if (!LOG_LEVELS.includes(level)) {
    p.add(
      `${path}.level`,
      `unknown log level ${quote(level)}: expected ${LOG_LEVELS.join(", ")}`,
    );
    return undefined;
  }
  return l as LoggingConfig;
}

const PUBLIC_KEY_PEM =
  /^\s*-----BEGIN PUBLIC KEY-----\r?\n[A-Za-z0-9+/=\r\n]+-----END PUBLIC KEY-----\s*$/;
// The SPKI DER prefix of every Ed25519 public key (RFC 8410): 12 bytes, then 32.
const ED25519_SPKI_PREFIX = "302a300506032b6570032100";

function checkTrustedKeys(v: unknown, p: Problems): boolean {
  const path = ".machine.install.trustedKeys";
  if (!Array.isArray(v)) {
    p.add(path, "expected a list of PEM public keys");
    return false;
  }
  let ok = true;
  v.forEach((k: unknown, i: number) => {
    const at = `${path}[${i}]`;
    if (typeof k !== "string" || !PUBLIC_KEY_PEM.test(k)) {
      p.add(at, `expected one "PUBLIC KEY" PEM block`);
      ok = false;
      return;
    }
    const b64 = k.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, "");
    let hex = "";
    try {
      hex = Array.from(
        atob(b64),
        (c) => c.charCodeAt(0).toString(16).padStart(2, "0"),
      ).join("");
    } catch {
      // reported below
    }
    if (hex.length !== 88 || !hex.startsWith(ED25519_SPKI_PREFIX)) {
      p.add(at, "not an Ed25519 public key (SPKI PEM)");
      ok = false;
    }
  });
  return ok;
}

function checkInstall(v: unknown, p: Problems): InstallConfig | undefined {
  const path = ".machine.install";
  const i = mapping(v, path, ["disk", "image", "trustedKeys"], p);
  if (!i) return undefined;
  let ok = true;
  if (i.disk !== undefined) {
    const d = string(i.disk, `${path}.disk`, p);
    if (d === undefined) ok = false;
    else if (!/^\/dev\/[A-Za-z0-9._/-]+$/.test(d) || d.includes("..")) {
      p.add(
        `${path}.disk`,
        `invalid install disk ${quote(d)}: expected /dev/...`,
      );
      ok = false;
    }
  }
  if (i.image !== undefined) {
    const img = string(i.image, `${path}.image`, p);
    if (img === undefined) ok = false;
    else if (!/^[^\s]{1,512}$/.test(img)) {
      p.add(`${path}.image`, `invalid install image ${quote(img)}`);
      ok = false;
    }
  }
  if (i.trustedKeys !== undefined && !checkTrustedKeys(i.trustedKeys, p)) {
    ok = false;
  }
  return ok ? (i as InstallConfig) : undefined;
}

function checkMachine(v: unknown, p: Problems): MachineSection | undefined {
  const path = ".machine";
  if (v === undefined || v === null) {
    p.add(path, "machine instructions are required");
    return undefined;
  }
  const m = mapping(v, path, [
    "type",
    "token",
    "ca",
    "certSANs",
    "network",
    "install",
    "logging",
  ], p);
  if (!m) return undefined;
  let ok = true;
  let type: MachineType | undefined;
  if (m.type === undefined || m.type === "") {
    p.add(`${path}.type`, "machine type is required");
    ok = false;
  } else {
    const t = string(m.type, `${path}.type`, p);
    if (t === "controlplane" || t === "worker") type = t;
    else {
      if (t !== undefined) {
        p.add(`${path}.type`, `unknown machine type ${quote(t)}`);
      }
      ok = false;
    }
  }
  if (m.token === undefined || m.token === "") {
    p.add(`${path}.token`, "machine token is required");
    ok = false;
  } else {
    const tok = string(m.token, `${path}.token`, p);
    if (tok === undefined) ok = false;
    else if (!TOKEN_PATTERN.test(tok)) {
      // Never quote the value: it is a secret.
      p.add(
        `${path}.token`,
        "invalid machine token: expected the format [a-z0-9]{6}.[a-z0-9]{16}",
      );
      ok = false;
    }
  }
  if (!checkCa(m.ca, type, p)) ok = false;
  if (m.certSANs !== undefined) {
    const sans = stringList(
      m.certSANs,
      `${path}.certSANs`,
      p,
      (s, at) => checkHostOrIp(s, at, p),
    );
    if (!sans) ok = false;
  }
  if (m.network !== undefined && !checkNetwork(m.network, p)) ok = false;
  if (m.install !== undefined && !checkInstall(m.install, p)) ok = false;
  if (m.logging !== undefined && !checkLogging(m.logging, p)) ok = false;
  return ok ? (m as unknown as MachineSection) : undefined;
}

const CLUSTER_NAME = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;

function checkCluster(v: unknown, p: Problems): ClusterSection | undefined {
  const path = ".cluster";
  if (v === undefined || v === null) {
    p.add(path, "cluster instructions are required");
    return undefined;
  }
  const c = mapping(v, path, ["name", "controlPlane", "etcd"], p);
  if (!c) return undefined;
  let ok = true;
  if (c.name === undefined || c.name === "") {
    p.add(`${path}.name`, "cluster name is required");
    ok = false;
  } else {
    const name = string(c.name, `${path}.name`, p);
    if (name === undefined) ok = false;
    else if (!CLUSTER_NAME.test(name)) {
      p.add(`${path}.name`, `invalid cluster name ${quote(name)}`);
      ok = false;
    }
  }
  const epPath = `${path}.controlPlane.endpoint`;
  if (c.controlPlane === undefined || c.controlPlane === null) {
    p.add(epPath, "cluster controlplane endpoint is required");
    return undefined;
  }
  const cp = mapping(c.controlPlane, `${path}.controlPlane`, ["endpoint"], p);
  if (!cp) return undefined;
  if (cp.endpoint === undefined || cp.endpoint === "") {
    p.add(epPath, "cluster controlplane endpoint is required");
    ok = false;
  } else {
    const ep = string(cp.endpoint, epPath, p);
    if (ep === undefined) ok = false;
    else {
      try {
        parseEndpoint(ep);
      } catch (err) {
        p.add(epPath, (err as Error).message);
        ok = false;
      }
    }
  }
  return ok ? (c as unknown as ClusterSection) : undefined;
}

/**
 * Checks a parsed YAML value against the v1alpha1 schema. Returns every
 * problem found (empty when valid); never throws.
 */
export function validateMachineConfig(raw: unknown): ConfigProblem[] {
  const p = new Problems();
  if (raw === undefined || raw === null) {
    p.add("", "machine config is empty");
    return p.finish();
  }
  const top = mapping(raw, "", ["version", "machine", "cluster"], p);
  if (!top) return p.finish();
  if (top.version === undefined || top.version === "") {
    p.add(".version", "config version is required");
  } else if (top.version !== "v1alpha1") {
    p.add(
      ".version",
      `unsupported config version ${quote(top.version)}: expected "v1alpha1"`,
    );
  }
  checkMachine(top.machine, p);
  checkCluster(top.cluster, p);
  if (isPlainObject(top.cluster) && top.cluster.etcd !== undefined) {
    const t = isPlainObject(top.machine) ? top.machine.type : undefined;
    const type = t === "controlplane" || t === "worker" ? t : undefined;
    checkEtcd(top.cluster.etcd, type, p);
  }
  return p.finish();
}

/** Copies a validated raw value into a fresh, typed MachineConfig (known keys only). */
export function toMachineConfig(raw: Obj): MachineConfig {
  // Valid input (checked by validateMachineConfig) has only known keys of the
  // right types; a JSON round trip drops prototypes and shares nothing.
  return JSON.parse(JSON.stringify(raw)) as MachineConfig;
}
