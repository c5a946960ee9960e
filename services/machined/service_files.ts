/**
 * Image mode: the files each service must read become its own, since the
 * services run under their own uids (SERVICE_IDENTITIES): the bus config for
 * nats-server, the certificate folders for apid and trustd. The folders above
 * them may be passed through but not listed (0711); everything else stays
 * root's.
 * @module
 */
import type { FileOwnerIds } from "../../lib/certdir/mod.ts";
import {
  certsDir,
  SERVICE_IDENTITIES,
  type ServiceIdentityName,
} from "../../lib/layout/mod.ts";

/** The owners of the certificate folders machined writes. */
export function certificateOwners(): {
  apid: FileOwnerIds;
  trustd: FileOwnerIds;
} {
  return {
    apid: ownerOf("apid"),
    trustd: ownerOf("trustd"),
  };
}

function ownerOf(service: ServiceIdentityName): FileOwnerIds {
  const { uid, gid } = SERVICE_IDENTITIES[service];
  return { uid, gid };
}

/**
 * Hands the bus config to nats-server's uid and each certificate folder (and
 * what is in it) to its daemon's; the state folder, run/ and certs/ become
 * 0711 so the services reach only what is theirs.
 */
export async function grantServiceFiles(
  stateDir: string,
  natsConfigPath: string,
): Promise<void> {
  for (const dir of [stateDir, `${stateDir}/run`, `${stateDir}/certs`]) {
    await Deno.mkdir(dir, { recursive: true, mode: 0o711 });
    await Deno.chmod(dir, 0o711);
  }
  const nats = ownerOf("nats");
  await Deno.chown(natsConfigPath, nats.uid, nats.gid);
  for (const [daemon, owner] of Object.entries(certificateOwners())) {
    const dir = certsDir(stateDir, daemon as "apid" | "trustd");
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    await Deno.chown(dir, owner.uid, owner.gid);
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile) await Deno.chown(`${dir}/${e.name}`, owner.uid, owner.gid);
    }
  }
}
