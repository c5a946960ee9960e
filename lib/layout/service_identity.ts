/**
 * Who each service runs as in the image, below its Deno permissions: its own
 * uid and gid (no supplementary groups), no_new_privs, and only the
 * capabilities it needs. networkd configures links (CAP_NET_ADMIN), udevd-lite
 * loads modules (CAP_SYS_MODULE); apid, trustd, nats-server and etcd need none: their
 * ports are above 1024 and the files they read are made theirs by machined.
 * machined itself stays root: PID 1 mounts, reboots and reaps. The image
 * carries util-linux's setpriv to start each one this way.
 * @module
 */
import type { SupervisedDaemon } from "./daemon_permissions.ts";

/**
 * An identity below machined's: a uid and gid with no supplementary groups,
 * no_new_privs, and only the named capabilities (lower-case names without
 * the CAP_ prefix, e.g. "net_admin") in every set.
 */
export interface ProcessIdentity {
  /** User id. */
  uid: number;
  /** Group id. */
  gid: number;
  /** The capabilities it keeps; none when empty. */
  capabilities: readonly string[];
}

/** The services that run under an identity of their own. */
export type ServiceIdentityName = SupervisedDaemon | "nats" | "etcd";

/** The identity of every service machined starts in the image. */
export const SERVICE_IDENTITIES: Readonly<
  Record<ServiceIdentityName, ProcessIdentity>
> = {
  nats: { uid: 50, gid: 50, capabilities: [] },
  apid: { uid: 51, gid: 51, capabilities: [] },
  trustd: { uid: 52, gid: 52, capabilities: [] },
  networkd: { uid: 53, gid: 53, capabilities: ["net_admin"] },
  udevd: { uid: 54, gid: 54, capabilities: ["sys_module"] },
  etcd: { uid: 55, gid: 55, capabilities: [] },
};

const CAPABILITY_NAME = /^[a-z_]{2,32}$/;

/**
 * setpriv's options for an identity: the uid and gid, no supplementary
 * groups, no_new_privs, and only its capabilities in the inheritable,
 * ambient and bounding sets (so they survive the exec as a non-root user,
 * and nothing can ever add others).
 */
export function setprivArgs(identity: ProcessIdentity): string[] {
  const { uid, gid, capabilities } = identity;
  for (const [name, id] of [["uid", uid], ["gid", gid]] as const) {
    if (!Number.isInteger(id) || id <= 0 || id > 65534) {
      throw new Error(`Invalid ${name} ${id}: a non-root id up to 65534`);
    }
  }
  for (const c of capabilities) {
    if (!CAPABILITY_NAME.test(c)) {
      throw new Error(`Invalid capability name ${JSON.stringify(c)}`);
    }
  }
  const caps = ["-all", ...capabilities.map((c) => `+${c}`)].join(",");
  return [
    `--reuid=${uid}`,
    `--regid=${gid}`,
    "--clear-groups",
    "--no-new-privs",
    `--inh-caps=${caps}`,
    `--ambient-caps=${caps}`,
    `--bounding-set=${caps}`,
  ];
}
